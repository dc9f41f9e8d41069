"""The compiler: a job spec becomes a step graph, the graph an onstart script, that a short bootstrap."""

from __future__ import annotations

from vastjob.compile.graph import StepGraph, build_graph
from vastjob.compile.job import Compiled, compile_job, render_bootstrap, render_script
from vastjob.compile.lowering import Step
from vastjob.compile.pack import BOOTSTRAP_LIMIT

__all__ = [
    "BOOTSTRAP_LIMIT",
    "Compiled",
    "Step",
    "StepGraph",
    "build_graph",
    "compile_job",
    "render_bootstrap",
    "render_script",
]
