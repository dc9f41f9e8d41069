"""What the commands that talk to Vast share: the key option, the job argument, the client, the prompt."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vastjob.cli._common import output_option, set_option
from vastjob.cli.completion import complete_files

if TYPE_CHECKING:
    from vastjob.spec.model import JobSpec
    from vastjob.vast.client import VastClient

api_key_option = click.option(
    "--api-key",
    envvar=None,
    default=None,
    metavar="KEY",
    help="Vast API key (default: $VAST_API_KEY, then ~/.config/vastai/vast_api_key).",
)
job_argument = click.argument("job", metavar="JOB", shell_complete=complete_files)
F = TypeVar("F", bound=Callable[..., Any])


def job_options(func: F) -> F:
    """JOB, `--set`, `--api-key` and `-o`: what every command about one job takes, before its own options."""
    return job_argument(set_option(api_key_option(output_option(func))))


def load(path: str, overrides: Sequence[str] = ()) -> JobSpec:
    """The job spec at `path`, with `--set` overrides."""
    from vastjob.spec.load import load_job

    return load_job(path, overrides)


def job_ref(ref: str, overrides: Sequence[str] = ()) -> tuple[str, str | None]:
    """A job name (and its spec hash, `--set` applied, when given a spec) from a spec path or a bare name."""
    from vastjob.errors import UserError
    from vastjob.vast.labels import check_name

    if ref.endswith((".yaml", ".yml")) or os.sep in ref or Path(ref).is_file():
        job = load(ref, overrides)
        return job.name, job.spec_hash
    if overrides:
        raise UserError(f"--set changes a spec, and {ref!r} is a job name: give the spec's path")
    return check_name(ref), None


def connect(api_key: str | None) -> VastClient:
    """A client for the account of the key (flag, environment or key file) at VAST_URL."""
    from vastjob.vast.account import resolve_api_key, resolve_base_url
    from vastjob.vast.client import VastClient

    return VastClient(resolve_api_key(api_key), resolve_base_url())


def ask(question: str) -> bool:
    """A yes/no question on stderr, so -o json stays JSON. No answer (end of input: no terminal, a CI job)
    is a no; Ctrl-C is not an answer but an interruption, which exits 130."""
    # click.confirm turns Ctrl-C and end of input alike into Abort; here they must differ.
    click.echo(f"{question} [y/N]: ", nl=False, err=True)
    try:
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        click.echo("", err=True)
        raise
    if not line:
        click.echo("(no answer)", err=True)
    return line.strip().lower() in ("y", "yes")
