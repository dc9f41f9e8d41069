"""A job compiled once: its step graph, its onstart script and the bootstrap that carries it.

Render, plan and apply share one `Compiled`, so a job is lowered, emitted and packed at most once; the
commit the clone checks out is part of the job (`JobSpec.pinned`), never a separate argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from vastjob.compile.emit import emit_script
from vastjob.compile.graph import StepGraph, build_graph
from vastjob.compile.pack import bootstrap_for
from vastjob.spec.model import JobSpec


@dataclass(frozen=True)
class Compiled:
    """The job and its graph; the script and the bootstrap are made on first use, once."""

    job: JobSpec
    graph: StepGraph

    @cached_property
    def script(self) -> str:
        """The full onstart script; RenderError for what cannot be rendered."""
        return emit_script(self.job, self.graph)

    @cached_property
    def bootstrap(self) -> str:
        """What apply sends as the onstart; RenderError when over Vast's limit, saying by how much."""
        return bootstrap_for(self.job, self.script)


def compile_job(job: JobSpec) -> Compiled:
    """Compile a job; SpecError for unknown needs, duplicate ids or cycles in its graph."""
    return Compiled(job, build_graph(job))


def render_script(job: JobSpec) -> str:
    """The full onstart script for a job: deterministic bytes, every spec value quoted."""
    return compile_job(job).script


def render_bootstrap(job: JobSpec) -> str:
    """The onstart text apply sends; RenderError when it is over BOOTSTRAP_LIMIT, saying by how much."""
    return compile_job(job).bootstrap
