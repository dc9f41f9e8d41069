"""`vastjob render`: the onstart script of a job, its bootstrap, or its step graph."""

from __future__ import annotations

from pathlib import Path

import click

from vastjob.cli._common import run, set_option


def render_job(
    path: str,
    overrides: tuple[str, ...],
    *,
    onstart: bool,
    graph: str | None,
    commit: str | None,
    out: str | None,
) -> int:
    """Load the job and print (or write to `out`) the script, the bootstrap or the graph."""
    from vastjob.compile import build_graph, render_script
    from vastjob.compile.transport import describe, render_payload
    from vastjob.spec.load import load_job

    job = load_job(path, overrides)
    sent = None
    if graph == "mermaid":
        text = build_graph(job, commit=commit).to_mermaid()
    elif graph is not None:
        text = build_graph(job, commit=commit).to_text()
    elif onstart:
        sent = render_payload(job, commit=commit)  # refused here when no form can carry it
        text = sent.onstart
    else:
        text = render_script(job, commit=commit)
    if out is None:
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out} ({len(text)} characters)", err=True)
    if sent is not None:  # the env entries sent beside it, on stderr so stdout stays the onstart itself
        click.echo(describe(sent), err=True, nl=False)
    return 0


@click.command(name="render")
@click.argument("path", metavar="JOB")
@set_option
@click.option(
    "--onstart",
    is_flag=True,
    help="Print the onstart sent to Vast (at most 4048 characters); the env entries sent with it, by name "
    "and size, go to stderr.",
)
@click.option(
    "--graph",
    type=click.Choice(["text", "mermaid"]),
    is_flag=False,
    flag_value="text",
    default=None,
    help="Print the step graph instead: as text (the default) or as a Mermaid flowchart.",
)
@click.option("--commit", metavar="SHA", help="Pin the clone to this commit (what apply does with the ref).")
@click.option(
    "-o", "out", metavar="FILE", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout."
)
def render(
    path: str,
    overrides: tuple[str, ...],
    onstart: bool,
    graph: str | None,
    commit: str | None,
    out: str | None,
) -> None:
    """Print the onstart script a job runs on its instance: deterministic, every spec value quoted."""
    if onstart and graph:
        raise click.UsageError("--onstart and --graph print different things; give one of them")
    run(lambda: render_job(path, overrides, onstart=onstart, graph=graph, commit=commit, out=out))
