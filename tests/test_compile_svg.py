"""The step graph as Graphviz DOT, and as SVG drawn by the real `dot` (or a clear error without it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.jobs import job_of
from vastjob.cli import cli
from vastjob.compile import build_graph

ROOT = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def test_dot_has_one_box_per_step_and_one_edge_per_need() -> None:
    data = {'say "hi" \\ there': {"source": "https://example.com/x", "dest": "d/"}}
    graph = build_graph(job_of(datasets=data))
    dot = graph.to_dot()
    assert dot.startswith('digraph "scripttest" {\n') and dot.endswith("}\n")
    ids = {s.id: f"s{n}" for n, s in enumerate(graph.steps)}
    assert '[label="data:say \\"hi\\" \\\\ there"];' in dot
    edges = [line.strip() for line in dot.splitlines() if "->" in line]
    assert sorted(edges) == sorted(f"{ids[n]} -> {ids[s.id]};" for s in graph.steps for n in s.needs)


@needs_dot
def test_real_dot_reads_the_graph_back_with_every_label() -> None:
    graph = build_graph(job_of(datasets={'q"uote\\d': {"source": "https://example.com/x", "dest": "d/"}}))
    plain = subprocess.run(
        ["dot", "-Tplain"], input=graph.to_dot(), capture_output=True, text=True, check=True
    )
    nodes = [line.split() for line in plain.stdout.splitlines() if line.startswith("node ")]
    assert len(nodes) == len(graph.steps)
    edges = [line for line in plain.stdout.splitlines() if line.startswith("edge ")]
    assert len(edges) == sum(len(s.needs) for s in graph.steps)


@needs_dot
def test_render_graph_svg_draws_a_picture(tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    job = str(ROOT / "jobs/burgers512.yaml")
    result = CliRunner().invoke(cli, ["render", job, "--graph", "svg", "--out", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "<svg" in svg and ">run</text>" in svg and ">clone</text>" in svg


def test_render_graph_dot_and_svg_without_graphviz(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runner = CliRunner()
    dot = runner.invoke(cli, ["render", str(ROOT / "jobs/burgers512.yaml"), "--graph", "dot"])
    assert dot.exit_code == 0 and dot.output.startswith('digraph "burgers512" {')
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    svg = runner.invoke(cli, ["render", str(ROOT / "jobs/burgers512.yaml"), "--graph", "svg"])
    assert svg.exit_code == 1
    assert "needs Graphviz's `dot` on PATH" in svg.stderr and "--graph dot" in svg.stderr
