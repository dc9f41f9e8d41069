"""What every command shares: the `-o` option and the one handler that maps errors to exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vastjob.errors import Interrupted, VastjobError

F = TypeVar("F", bound=Callable[..., Any])

output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format; json prints results and errors as JSON on stdout.",
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


def run(func: Callable[[], int | None], output: str = "text") -> None:
    """Run a command function; an expected error prints cleanly (JSON with -o json) and sets the exit code."""
    try:
        try:
            code = func() or 0
        except KeyboardInterrupt:
            # click would turn Ctrl-C into "Aborted!" and exit 1; it is 130, and JSON with -o json.
            raise Interrupted("interrupted") from None
    except VastjobError as err:
        if output == "json":
            echo_json({"errors": err.to_json()} if not isinstance(err.to_json(), list) else err.to_json())
        else:
            click.echo(str(err), err=True)
        sys.exit(err.exit_code)
    sys.exit(code)
