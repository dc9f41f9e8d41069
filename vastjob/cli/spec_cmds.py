"""`vastjob validate` and `vastjob schema`: options in, one spec function each, results out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from vastjob.cli._common import OutputFormat, output_option, run, set_option

if TYPE_CHECKING:
    from vastjob.spec.load import Checked


@dataclass(frozen=True)
class Validated:
    """Specs that passed: the jobs (name, hash, label) and the bases checked on the way."""

    checked: Sequence[Checked]
    bases_through_jobs: int

    def to_json(self) -> list[dict[str, Any]]:
        """One entry per job file, then one per base file given."""
        return [
            {"file": c.file, "name": c.job.name, "spec_hash": c.job.spec_hash, "label": c.job.label}
            for c in self.checked
            if c.job is not None
        ] + [
            {"file": c.file, "sweep": c.sweep.name, "runs": [r.name for r in c.sweep.runs]}
            for c in self.checked
            if c.sweep is not None
        ] + [{"file": c.file, "base": True} for c in self.checked if c.job is None and c.sweep is None]

    def render(self) -> str:
        """A one-line summary."""
        jobs = sum(1 for c in self.checked if c.job is not None)
        sweeps = [c.sweep for c in self.checked if c.sweep is not None]
        bases = len(self.checked) - jobs - len(sweeps) + self.bases_through_jobs
        summary = f"ok: {jobs} job spec{'s' if jobs != 1 else ''} valid"
        if sweeps:
            runs = sum(len(s.runs) for s in sweeps)
            summary += f", {len(sweeps)} sweep{'s' if len(sweeps) != 1 else ''} of {runs} runs"
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


@click.command(name="validate")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@set_option
@output_option
def validate(paths: tuple[str, ...], overrides: tuple[str, ...], output: OutputFormat) -> None:
    """Check job specs (files, folders or globs) and report every problem as FILE:LINE:COL: $.path: message.

    Files whose names start with _ are bases: they are checked through the jobs that extend them.
    """
    run(lambda: validate_paths(paths, overrides), output)


@click.command(name="schema")
def schema() -> None:
    """Print the job spec's JSON Schema (2020-12), for editors and other tools."""
    from vastjob.spec.schema import schema_text

    click.echo(schema_text(), nl=False)
