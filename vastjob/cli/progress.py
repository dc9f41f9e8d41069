"""Where a followed job's log lines and progress go: on a terminal a status line that rich redraws
(imported only there) under the streamed log; otherwise plain lines, progress at most every 30 s."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click


@dataclass
class Sinks:
    """The two outputs of a follow: each log line, and the progress text (state, elapsed, cost so far)."""

    line: Callable[[str], None]
    progress: Callable[[str], None]


@contextmanager
def follow_output(text_output: bool) -> Iterator[Sinks]:
    """The sinks for one follow. Log lines go to stdout as text (stderr beside JSON); progress to stderr."""
    from vastjob.vast.follow import Throttled

    def plain(line: str) -> None:
        click.echo(line, err=not text_output)

    def said(message: str) -> None:
        click.echo(message, err=True)

    if not (text_output and sys.stdout.isatty() and sys.stderr.isatty()):
        yield Sinks(plain, Throttled(said))
        return
    try:
        from rich.console import Console
    except ImportError:  # rich is optional: plain lines do
        yield Sinks(plain, Throttled(said))
        return
    console = Console(stderr=True, highlight=False)
    with console.status("following the job ...") as status:

        def line(text: str) -> None:
            console.print(text, markup=False, highlight=False, soft_wrap=True)

        yield Sinks(line, lambda text: status.update(text))
