"""The step graph: steps in a runnable order, checked for unknown needs and cycles, each with a hash."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from vastjob.compile.lowering import Step
from vastjob.compile.steps import lower
from vastjob.errors import Problem, SpecError
from vastjob.spec.model import JobSpec, canonical_json
from vastjob.text import format_duration

HASH_CHARS = 8


@dataclass(frozen=True)
class StepGraph:
    """Steps in topological order (ties keep lowering order), and each step's hash."""

    job_name: str
    steps: tuple[Step, ...]
    hashes: Mapping[str, str]

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError if none)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """Step ids in order."""
        return tuple(s.id for s in self.steps)

    def to_text(self) -> str:
        """One line per step: id, hash, needs, retries, timeout, summary."""
        width = max(len(s.id) for s in self.steps)
        lines = [f"job {self.job_name}: {len(self.steps)} steps"]
        for s in self.steps:
            needs = ", ".join(s.needs) or "-"
            timeout = format_duration(s.timeout_s) if s.timeout_s else "none"
            resume = "" if s.resumable else ", runs every start"
            lines.append(
                f"  {s.id:<{width}}  {self.hashes[s.id]}  needs: {needs}; retries: {s.retries}; "
                f"timeout: {timeout}{resume}"
            )
            if s.summary:
                lines.append(f"  {'':<{width}}  {s.summary}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """A Mermaid flowchart, top to bottom, one node per step."""
        node = {s.id: f"s{n}" for n, s in enumerate(self.steps)}
        lines = ["flowchart TD"]
        for s in self.steps:
            label = s.id.replace('"', "#quot;").replace("\n", " ")
            lines.append(f'  {node[s.id]}["{label}"]')
        for s in self.steps:
            lines.extend(f"  {node[n]} --> {node[s.id]}" for n in s.needs)
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """A Graphviz digraph, top to bottom, one box per step labelled with its id (`dot -Tsvg` draws it)."""
        node = {s.id: f"s{n}" for n, s in enumerate(self.steps)}
        lines = [f"digraph {_dot_quote(self.job_name)} {{", "  rankdir=TB;", "  node [shape=box];"]
        lines.extend(f"  {node[s.id]} [label={_dot_quote(s.id)}];" for s in self.steps)
        for s in self.steps:
            lines.extend(f"  {node[n]} -> {node[s.id]};" for n in s.needs)
        return "\n".join([*lines, "}"]) + "\n"


def _dot_quote(text: str) -> str:
    # In a DOT string a backslash starts an escape (\n, \l, \N) and a quote ends it: escape both.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _problem(job: JobSpec, step: Step, message: str) -> Problem:
    return Problem(job.source, 0, 0, step.spec_path, message)


def _order(job: JobSpec, steps: list[Step]) -> list[Step]:
    by_id: dict[str, Step] = {}
    problems = []
    for s in steps:
        if s.id in by_id:
            problems.append(_problem(job, s, f"step id {s.id!r} is used twice (it may be a built-in step)"))
        by_id[s.id] = s
    for s in steps:
        for need in s.needs:
            if need not in by_id:
                close = difflib.get_close_matches(need, list(by_id), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(_problem(job, s, f"step {s.id!r} needs unknown step {need!r}{hint}"))
    if problems:
        raise SpecError(problems)
    done: list[Step] = []
    placed: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if all(n in placed for n in s.needs)]
        if not ready:
            cycle = " -> ".join(_cycle(pending))
            raise SpecError([_problem(job, pending[0], f"steps wait on each other in a cycle: {cycle}")])
        first = ready[0]
        done.append(first)
        placed.add(first.id)
        pending.remove(first)
    return done


def _cycle(pending: list[Step]) -> list[str]:
    """One cycle among steps that cannot be placed, as ids (first repeated at the end)."""
    needs = {s.id: [n for n in s.needs if any(p.id == n for p in pending)] for s in pending}
    path: list[str] = [pending[0].id]
    while True:
        nxt = needs[path[-1]][0]
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)


def _hashes(steps: list[Step]) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for s in steps:
        content = canonical_json(
            {
                "id": s.id,
                "kind": s.kind,
                "body": list(s.body),
                "retries": s.retries,
                "timeout": s.timeout_s,
                "salt": list(s.salt),
                "needs": sorted(hashes[n] for n in s.needs),
            }
        )
        hashes[s.id] = hashlib.sha256(content.encode()).hexdigest()[:HASH_CHARS]
    return hashes


def build_graph(job: JobSpec) -> StepGraph:
    """Lower a job into its step graph; SpecError lists unknown needs, duplicate ids and cycles."""
    ordered = _order(job, lower(job))
    return StepGraph(job.name, tuple(ordered), _hashes(ordered))
