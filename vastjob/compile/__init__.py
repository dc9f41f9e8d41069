"""The compiler: a job spec becomes a step graph, the graph an onstart script, that a short bootstrap."""

from __future__ import annotations

from vastjob.compile.emit import render_script
from vastjob.compile.graph import StepGraph, build_graph
from vastjob.compile.pack import BOOTSTRAP_LIMIT, render_bootstrap, unpack
from vastjob.compile.steps import Step

__all__ = [
    "BOOTSTRAP_LIMIT",
    "Step",
    "StepGraph",
    "build_graph",
    "render_bootstrap",
    "render_script",
    "unpack",
]
