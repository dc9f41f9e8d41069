"""A job compiled once: its step graph, its onstart script and the bootstrap that carries it.

Render, plan and apply share one `Compiled`, so a job is lowered, emitted and packed at most once; the
commit the clone checks out is part of the job (`JobSpec.pinned`), never a separate argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from vastjob.compile.emit import emit_script
from vastjob.compile.graph import StepGraph, build_graph
from vastjob.compile.pack import bootstrap_for
from vastjob.spec.model import JobSpec

if TYPE_CHECKING:
    from vastjob.compile.transport import Payload


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
        """The inline bootstrap; RenderError when over Vast's limit, saying by how much."""
        return bootstrap_for(self.job, self.script)

    def payload(self, secrets: Mapping[str, str] | None = None, api_url: str | None = None) -> Payload:
        """What the create body carries (`vastjob.compile.transport`): the inline bootstrap when it fits, else
        the chunked form; RenderError only for what no form can carry."""
        from vastjob.compile.transport import payload_for

        return payload_for(self.job, self.script, secrets=secrets, api_url=api_url)


def compile_job(job: JobSpec) -> Compiled:
    """Compile a job; SpecError for unknown needs, duplicate ids or cycles in its graph."""
    return Compiled(job, build_graph(job))


def render_script(job: JobSpec) -> str:
    """The full onstart script for a job: deterministic bytes, every spec value quoted."""
    return compile_job(job).script


def render_bootstrap(job: JobSpec) -> str:
    """The onstart text apply sends; RenderError when it is over BOOTSTRAP_LIMIT, saying by how much."""
    return compile_job(job).bootstrap
