"""`vastjob render`: the onstart script of a job, its bootstrap, or its step graph."""

from __future__ import annotations

from pathlib import Path

import click

from vastjob.cli._common import run, set_option
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer


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
    from vastjob.compile import build_graph, render_bootstrap, render_script
    from vastjob.spec.load import load_job

    job = load_job(path, overrides)
    if graph == "mermaid":
        text = build_graph(job, commit=commit).to_mermaid()
    elif graph in ("dot", "svg"):
        from vastjob.compile.svg import dot_to_svg

        text = build_graph(job, commit=commit).to_dot()
        text = dot_to_svg(text) if graph == "svg" else text
    elif graph is not None:
        text = build_graph(job, commit=commit).to_text()
    elif onstart:
        text = render_bootstrap(job, commit=commit)
    else:
        text = render_script(job, commit=commit)
    if out is None:
        click.echo(text, nl=False)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out} ({len(text)} characters)", err=True)
    return 0


@click.command(
    name="render",
    epilog=footer(
        ["vastjob render jobs/burgers512.yaml", "vastjob render jobs/burgers512.yaml --onstart",
         "vastjob render jobs/burgers512.yaml --graph mermaid",
         "vastjob render jobs/burgers512.yaml --graph svg -o graph.svg"],
        {0: "printed", 1: "a spec problem, a bootstrap over 4048 characters, or no Graphviz for svg"},
    ),
)
@click.argument("path", metavar="JOB", shell_complete=complete_files)
@set_option
@click.option(
    "--onstart", is_flag=True, help="Print the bootstrap sent as Vast's onstart (at most 4048 characters)."
)
@click.option(
    "--graph",
    type=click.Choice(["text", "mermaid", "dot", "svg"]),
    is_flag=False,
    flag_value="text",
    default=None,
    help="Print the step graph instead: as text (the default), a Mermaid flowchart, Graphviz DOT, "
    "or SVG (drawn by Graphviz's dot when installed).",
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
