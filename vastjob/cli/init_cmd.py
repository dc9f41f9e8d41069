"""`vastjob init [DIR]`: a starter spec, its schema and a `.env.example` in a repo, never overwriting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vastjob.cli._common import OutputFormat, output_option, run
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.starter import Written


@dataclass(frozen=True)
class Started:
    """What init wrote and kept, as text (with what to run next) or as JSON."""

    written: Written

    def to_json(self) -> dict[str, Any]:
        """The files created and kept, and the spec."""
        w = self.written
        return {"created": [str(p) for p in w.created], "kept": [str(p) for p in w.kept], "spec": str(w.spec)}

    def render(self) -> str:
        """One line per file, then the next commands."""
        w = self.written
        lines = [f"wrote {_shown(p)}" for p in w.created]
        lines += [f"kept  {_shown(p)} (it exists; not overwritten)" for p in w.kept]
        spec, folder = _shown(w.spec), w.spec.parent
        copy = f"cp {_shown(folder / '.env.example')} {_shown(folder / '.env')}"
        return "\n".join(
            [
                *lines,
                "",
                "next:",
                f"  vastjob validate {spec}",
                f"  {copy}    # and fill in the secrets it names",
                f"  vastjob apply {spec} --local --yes    # the whole cycle on this machine, with no account",
            ]
        )


def init_repo(folder: Path, name: str | None) -> Started:
    """Write the starter files: what was written and what was kept."""
    from vastjob.starter import write_starter

    return Started(write_starter(folder, name=name))


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    absolute = path.absolute()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


@click.command(
    name="init",
    epilog=footer(
        [
            "vastjob init                  # in the current repo",
            "vastjob init ../my-project --name train-resnet",
        ],
        {0: "written (or kept: nothing is overwritten)", 1: "NAME is not a job name, or DIR is a file"},
    ),
)
@click.argument(
    "folder", metavar="[DIR]", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--name", metavar="NAME", help="The job's name (default: from the folder's name).")
@output_option
def init(folder: Path, name: str | None, output: OutputFormat) -> None:
    """Start vastjob in a repo: DIR/jobs/NAME.yaml (a commented spec that validates), DIR/jobs/.env.example
    (the secrets it needs), DIR/jobs/.gitignore (keeps .env out of git) and DIR/schemas/job.schema.json (what
    the spec's $schema line points at). A file that exists is kept, never overwritten.
    """
    run(lambda: init_repo(folder, name), output)
