"""`vastjob render`: the onstart script of a job, its bootstrap, or its step graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vastjob.cli._common import OutputFormat, output_option, run, say, set_option
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli.results import Text


def render_job(
    path: str,
    overrides: tuple[str, ...],
    *,
    onstart: bool,
    graph: str | None,
    commit: str | None,
    out: str | None,
    run_name: str | None = None,
) -> Text:
    """The script, the bootstrap or the graph of a job (compiled once); written to `out` when given.
    A sweep shows every run's, one after the other (`run_name`: that run's alone)."""
    from vastjob.cli.results import Text
    from vastjob.cli.sweep_cmds import pick_job
    from vastjob.compile import compile_job

    job, sweep = pick_job(path, overrides, run_name)
    if job is None:
        assert sweep is not None
        parts = [
            render_job(path, overrides, onstart=onstart, graph=graph, commit=commit, out=None, run_name=name)
            for name in (r.name for r in sweep.runs)
        ]
        text = "".join(
            f"# run {r.name} ({r.values_text()})\n{p.text}" + ("" if p.text.endswith("\n") else "\n")
            for r, p in zip(sweep.runs, parts, strict=True)
        )
        extra = {"sweep": sweep.name, "runs": [p.to_json() for p in parts]}
        if out is None:
            return Text(text, key="", extra=extra)
        Path(out).write_text(text, encoding="utf-8")
        say(f"wrote {out} ({len(text)} characters)")
        return Text("", key="", extra={"sweep": sweep.name, "file": out, "characters": len(text)})
    compiled = compile_job(job.pinned(commit))
    if graph == "mermaid":
        what, text = "mermaid", compiled.graph.to_mermaid()
    elif graph in ("dot", "svg"):
        from vastjob.compile.svg import dot_to_svg

        what, text = graph, compiled.graph.to_dot()
        text = dot_to_svg(text) if graph == "svg" else text
    elif graph is not None:
        what, text = "graph", compiled.graph.to_text()
    elif onstart:
        # What is sent: refused here only when no form can carry it. The env entries sent beside the onstart
        # go to stderr (names and sizes, never a value), so stdout stays the onstart itself.
        from vastjob.compile.transport import describe

        sent = compiled.payload()
        what, text = "bootstrap", sent.onstart
        say(describe(sent).rstrip("\n"))
    else:
        what, text = "script", compiled.script
    info: dict[str, Any] = {"job": compiled.job.name, "spec_hash": compiled.job.spec_hash, "kind": what}
    if onstart:
        info["budget"] = sent.budget.to_json()
    if out is None:
        return Text(text, extra=info)
    Path(out).write_text(text, encoding="utf-8")
    say(f"wrote {out} ({len(text)} characters)")
    return Text("", key="", extra={**info, "file": out, "characters": len(text)})


@click.command(
    name="render",
    epilog=footer(
        [
            "vastjob render jobs/burgers512.yaml",
            "vastjob render jobs/burgers512.yaml --onstart",
            "vastjob render jobs/burgers512.yaml --graph mermaid",
            "vastjob render jobs/burgers512.yaml --graph svg --out graph.svg",
        ],
        {0: "printed", 1: "a spec problem, a bootstrap over 4048 characters, or no Graphviz for svg"},
    ),
)
@click.argument("path", metavar="JOB", shell_complete=complete_files)
@set_option
@click.option(
    "--onstart",
    is_flag=True,
    help="Print the onstart sent to Vast (at most 4048 characters); the env entries sent with it, by name "
    "and size, go to stderr.",
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
@click.option("--run", "run_name", metavar="NAME", help="For a sweep: the one run to show.")
@click.option(
    "--out", metavar="FILE", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout."
)
@output_option
def render(
    path: str,
    overrides: tuple[str, ...],
    onstart: bool,
    graph: str | None,
    commit: str | None,
    out: str | None,
    run_name: str | None,
    output: OutputFormat,
) -> None:
    """Print the onstart script a job runs on its instance: deterministic, every spec value quoted."""
    if onstart and graph:
        raise click.UsageError("--onstart and --graph print different things; give one of them")
    run(
        lambda: render_job(
            path, overrides, onstart=onstart, graph=graph, commit=commit, out=out, run_name=run_name
        ),
        output,
    )
