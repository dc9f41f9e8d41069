"""`vastjob validate` and `vastjob schema`: options in, one spec function each, results out."""

from __future__ import annotations

import click

from vastjob.cli._common import echo_json, output_option, run, set_option
from vastjob.cli.completion import complete_files


def validate_paths(paths: tuple[str, ...], overrides: tuple[str, ...], output: str) -> int:
    """Check the specs; print a one-line summary (or JSON) when all are valid, raise `SpecError` otherwise."""
    from vastjob.errors import SpecError
    from vastjob.spec.batch import check_paths

    batch = check_paths(paths, overrides)
    if not batch.ok:
        raise SpecError(batch.problems)
    jobs = [c for c in batch.checked if c.job is not None]
    if output == "json":
        echo_json(
            [
                {"file": c.file, "name": c.job.name, "spec_hash": c.job.spec_hash, "label": c.job.label}
                for c in jobs
                if c.job is not None
            ]
            + [{"file": c.file, "base": True} for c in batch.checked if c.job is None]
        )
        return 0
    bases = len(batch.checked) - len(jobs) + len(batch.bases_through_jobs)
    summary = f"ok: {len(jobs)} job spec{'s' if len(jobs) != 1 else ''} valid"
    if bases:
        summary += f" ({bases} base spec{'s' if bases != 1 else ''} checked)"
    click.echo(summary)
    return 0


@click.command(name="validate")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", shell_complete=complete_files)
@set_option
@output_option
def validate(paths: tuple[str, ...], overrides: tuple[str, ...], output: str) -> None:
    """Check job specs (files, folders or globs) and report every problem as FILE:LINE:COL: $.path: message.

    Files whose names start with _ are bases: they are checked through the jobs that extend them.
    """
    run(lambda: validate_paths(paths, overrides, output), output)


@click.command(name="schema")
def schema() -> None:
    """Print the job spec's JSON Schema (2020-12), for editors and other tools."""
    from vastjob.spec.schema import schema_text

    click.echo(schema_text(), nl=False)
