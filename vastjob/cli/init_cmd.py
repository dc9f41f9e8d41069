"""`vastjob init [DIR]`: a starter spec, its schema and a `.env.example` in a repo, never overwriting."""

from __future__ import annotations

from pathlib import Path

import click

from vastjob.cli._common import run
from vastjob.cli.helptext import footer


def init_repo(folder: Path, name: str | None) -> int:
    """Write the starter files and say what was written, what was kept, and what to run next."""
    from vastjob.starter import write_starter

    written = write_starter(folder, name=name)
    for path in written.created:
        click.echo(f"wrote {_shown(path)}")
    for path in written.kept:
        click.echo(f"kept  {_shown(path)} (it exists; not overwritten)")
    spec = _shown(written.spec)
    env_example = _shown(written.spec.parent / ".env.example")
    env = _shown(written.spec.parent / ".env")
    click.echo(
        "\nnext:\n"
        f"  vastjob validate {spec}\n"
        f"  cp {env_example} {env}    # and fill in the secrets it names\n"
        f"  vastjob apply {spec} --local --yes    # the whole cycle on this machine, with no account"
    )
    return 0


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    absolute = path.absolute()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


@click.command(
    name="init",
    epilog=footer(
        ["vastjob init                  # in the current repo",
         "vastjob init ../my-project --name train-resnet"],
        {0: "written (or kept: nothing is overwritten)", 1: "NAME is not a job name, or DIR is a file"},
    ),
)
@click.argument("folder", metavar="[DIR]", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", metavar="NAME", help="The job's name (default: from the folder's name).")
def init(folder: Path, name: str | None) -> None:
    """Start vastjob in a repo: DIR/jobs/NAME.yaml (a commented spec that validates), DIR/jobs/.env.example
    (the secrets it needs), DIR/jobs/.gitignore (keeps .env out of git) and DIR/schemas/job.schema.json (what
    the spec's $schema line points at). A file that exists is kept, never overwritten.
    """
    run(lambda: init_repo(folder, name))
