"""A step of the graph, and what the step kinds share while lowering one job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vastjob.compile.sources import Fetch, source_kind
from vastjob.spec.model import Dataset, JobSpec


@dataclass(frozen=True)
class Step:
    """One node of the graph. `body` is bash that only calls runtime functions with quoted words, except
    for command fields (`vj_sh`). `salt` is more content that changes the hash (the env a command sees)."""

    id: str
    kind: str
    body: tuple[str, ...]
    needs: tuple[str, ...] = ()
    retries: int = 0
    timeout_s: int | None = None
    resumable: bool = True
    summary: str = ""
    salt: tuple[str, ...] = ()
    spec_path: str = "$"


@dataclass
class Lowering:
    """What the kinds share while lowering one job: the steps made so far, each dataset's fetch."""

    job: JobSpec
    steps: list[Step] = field(default_factory=list)
    _fetches: dict[str, Fetch] = field(default_factory=dict)

    def fetch(self, ds: Dataset) -> Fetch:
        """The dataset's fetch, its source kind resolved once per job however many kinds ask."""
        if ds.name not in self._fetches:
            self._fetches[ds.name] = source_kind(ds, self.job).fetch(ds, self.job)
        return self._fetches[ds.name]

    def has(self, step_id: str) -> bool:
        """Whether a step with this id exists already."""
        return any(s.id == step_id for s in self.steps)

    def present(self, ids: Sequence[str]) -> tuple[str, ...]:
        """The ids among `ids` that exist, in order."""
        return tuple(i for i in ids if self.has(i))

    def after(self, ids: Sequence[str]) -> tuple[str, ...]:
        """Needs on the existing steps among `ids`, or on gpu-check alone when none exists."""
        return self.present(ids) or ("gpu-check",)

    def env_salt(self) -> tuple[str, ...]:
        """The job's env as hash content for steps that run commands."""
        return tuple(f"{k}={v}" for k, v in self.job.env)


class StepKind(Protocol):
    """One kind of step: turns its part of the spec into zero or more steps."""

    def lower(self, low: Lowering) -> list[Step]:
        """The steps this kind adds, given the steps made before it."""
        ...
