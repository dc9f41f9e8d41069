"""`vastjob validate` and `vastjob schema`: options in, one spec function each, results out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vastjob.cli._common import OutputFormat, output_option, run, set_option
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.spec.load import Checked


@dataclass(frozen=True)
class Validated:
    """Specs that passed: the jobs (name, hash, label) and the bases checked on the way."""

    checked: Sequence[Checked]
    bases_through_jobs: int

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per job file, then one per base file given."""
        return (
            [
                {"file": c.file, "name": c.job.name, "spec_hash": c.job.spec_hash, "label": c.job.label}
                for c in self.checked
                if c.job is not None
            ]
            + [
                {"file": c.file, "sweep": c.sweep.name, "runs": [r.name for r in c.sweep.runs]}
                for c in self.checked
                if c.sweep is not None
            ]
            + [{"file": c.file, "base": True} for c in self.checked if c.job is None and c.sweep is None]
        )

    def render(self) -> str:
        """A one-line summary."""
        jobs = sum(1 for c in self.checked if c.job is not None)
        sweeps = [c.sweep for c in self.checked if c.sweep is not None]
        bases = len(self.checked) - jobs - len(sweeps) + self.bases_through_jobs
        summary = f"ok: {jobs} job spec{'s' if jobs != 1 else ''} valid"
        if sweeps:
            runs = sum(len(s.runs) for s in sweeps)
            said = f"{len(sweeps)} sweep{'s' if len(sweeps) != 1 else ''} of {runs} runs"
            summary = f"{summary}, {said}" if jobs else f"ok: {said} valid"
        if bases:
            summary += f" ({bases} base spec{'s' if bases != 1 else ''} checked)"
        return summary


def validate_paths(paths: tuple[str, ...], overrides: tuple[str, ...]) -> Validated:
    """Check the specs; what passed, or `SpecError` with every problem."""
    from vastjob.errors import SpecError
    from vastjob.spec.batch import check_paths

    batch = check_paths(paths, overrides)
    if not batch.ok:
        raise SpecError(batch.problems)  # errors first: warnings are shown once the specs are valid
    # Warnings go to stderr in every output format, so `-o json` stays one document on stdout.
    for warning in batch.warnings:
        click.echo(f"warning: {warning}", err=True)
    return Validated(batch.checked, len(batch.bases_through_jobs))


@click.command(
    name="validate",
    epilog=footer(
        [
            "vastjob validate jobs/",
            "vastjob validate 'jobs/burgers*.yaml' --set offer.max_price_per_hour=3",
            "vastjob validate jobs/demo.yaml -o json",
        ],
        {0: "every spec is valid", 1: "a spec has problems (each printed as FILE:LINE:COL)"},
    ),
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", shell_complete=complete_files)
@set_option
@output_option
def validate(paths: tuple[str, ...], overrides: tuple[str, ...], output: OutputFormat) -> None:
    """Check job specs (files, folders or globs) and report every problem as FILE:LINE:COL: $.path: message.

    Files whose names start with _ are bases: they are checked through the jobs that extend them.
    """
    run(lambda: validate_paths(paths, overrides), output)


@click.command(
    name="schema",
    epilog=footer(
        ["vastjob schema > job.schema.json", "vastjob schema --write schemas/job.schema.json"],
        {0: "printed, or written (created, updated or unchanged)", 1: "PATH holds something else: kept"},
    ),
)
@click.option(
    "--write",
    "write",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it to PATH in your repo (kept up to date on later runs) instead of printing it.",
)
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
