"""What every command shares: its options, the one output path (`emit`) and the one error handler (`run`).

A command parses its options, makes one call and hands `run` a function returning a result: anything with
`to_json()` and `render()` (and, when it can fail without raising, an `exit_code`). `run` emits it in the
format `-o` chose; an expected error becomes the exit code of its kind and, with `-o json`, the JSON shape
described in `vastjob.errors`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

import click

from vastjob.errors import EXIT_OK, Interrupted, VastjobError

F = TypeVar("F", bound=Callable[..., Any])
OutputFormat = Literal["text", "json", "yaml"]


class Result(Protocol):
    """What a command hands to `emit`."""

    def to_json(self) -> Any:
        """The result as JSON-ready data."""

    def render(self) -> str:
        """The result as text for a terminal."""


output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(get_args(OutputFormat)),
    default="text",
    show_default=True,
    help="Output format; json (or yaml) prints results and errors as JSON (or YAML) on stdout.",
)


def set_option(func: F) -> F:
    """`--set dotted.path=value`, repeatable: overrides applied after extends, before validation."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="PATH=VALUE",
        help="Override a field after merging, e.g. --set env.RESET_CACHE=0 (value parsed as a YAML scalar).",
    )(func)


def echo_json(data: object) -> None:
    """Print data as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def echo_yaml(data: object) -> None:
    """Print data as YAML on stdout: the same document as the JSON, block style, keys in their order."""
    import yaml  # only -o yaml pays for it

    plain = json.loads(json.dumps(data, default=str))  # the JSON's values exactly, no Python-only types
    click.echo(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True), nl=False)


def emit(result: Result, output: OutputFormat) -> None:
    """Print a result on stdout as JSON, YAML or text (a newline added only when the text lacks one)."""
    if output == "json":
        echo_json(result.to_json())
        return
    if output == "yaml":
        echo_yaml(result.to_json())
        return
    text = result.render()
    if text:
        click.echo(text, nl=not text.endswith("\n"))


def say(message: str) -> None:
    """Progress for the user, on stderr, so that stdout holds the result alone."""
    click.echo(message, err=True)


def run(func: Callable[[], Result | int | None], output: OutputFormat = "text") -> None:
    """Run a command's call and emit its result; an expected error prints cleanly and sets the exit code."""
    try:
        try:
            result = func()
        except KeyboardInterrupt:
            # click would turn Ctrl-C into "Aborted!" and exit 1; it is 130, and JSON with -o json.
            raise Interrupted("interrupted") from None
    except VastjobError as err:
        if output == "json":
            echo_json({"errors": err.to_json()})
        elif output == "yaml":
            echo_yaml({"errors": err.to_json()})
        else:
            click.echo(str(err), err=True)
        sys.exit(err.exit_code)
    if result is None or isinstance(result, int):
        sys.exit(result or EXIT_OK)
    emit(result, output)
    sys.exit(cast(int, getattr(result, "exit_code", EXIT_OK)))
