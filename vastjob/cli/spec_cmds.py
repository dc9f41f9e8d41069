"""`vastjob validate` and `vastjob schema`: options in, one spec function each, results out."""

from __future__ import annotations

from pathlib import Path

import click

from vastjob.cli._common import echo_json, output_option, run, set_option
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer


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


@click.command(
    name="validate",
    epilog=footer(
        ["vastjob validate jobs/", "vastjob validate 'jobs/burgers*.yaml' --set offer.max_price_per_hour=3",
         "vastjob validate jobs/demo.yaml -o json"],
        {0: "every spec is valid", 1: "a spec has problems (each printed as FILE:LINE:COL)"},
    ),
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", shell_complete=complete_files)
@set_option
@output_option
def validate(paths: tuple[str, ...], overrides: tuple[str, ...], output: str) -> None:
    """Check job specs (files, folders or globs) and report every problem as FILE:LINE:COL: $.path: message.

    Files whose names start with _ are bases: they are checked through the jobs that extend them.
    """
    run(lambda: validate_paths(paths, overrides, output), output)


@click.command(
    name="schema",
    epilog=footer(
        ["vastjob schema > job.schema.json", "vastjob schema --write schemas/job.schema.json"],
        {0: "printed, or written (created, updated or unchanged)", 1: "PATH holds something else: kept"},
    ),
)
@click.option("--write", "write", metavar="PATH", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it to PATH in your repo (kept up to date on later runs) instead of printing it.")
def schema(write: Path | None) -> None:
    """Print the job spec's JSON Schema (2020-12), for editors and other tools.

    With --write, a spec's `# yaml-language-server: $schema=<relative path>` line can point at the copy:
    `vastjob init` writes schemas/job.schema.json and that line in its starter spec.
    """
    from vastjob.spec.schema import schema_text

    if write is None:
        click.echo(schema_text(), nl=False)
        return

    def go() -> int:
        from vastjob.starter import write_schema

        click.echo(f"{write}: {write_schema(write)}")
        return 0

    run(go)
