"""Shell completion for arguments that name a job spec: the shell completes file names for them."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem


def complete_files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Hand completion back to the shell's own file names (click's `file` item) for a JOB or PATH."""
    return [CompletionItem(incomplete, type="file")]
