"""A sweep: one spec with `matrix:` and `sweep:`, checked as the ordinary jobs it expands into.

Each combination of the matrix is the spec with its values set at their paths and its own name; it is
validated like any job, and a problem one of its values causes is reported at that matrix entry, naming the
run. The runs' documents leave `matrix` and `sweep` out, so that a run's spec hash (and label) depends on
what it runs alone: changing the budget or adding a value to an axis leaves the other runs as they are.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from vastjob.errors import Problem, UserError
from vastjob.spec.matrix import Combination, expand, run_names
from vastjob.spec.merge import OverrideError, apply_override
from vastjob.spec.model import JOB_NAME, JobSpec
from vastjob.spec.nodes import Node, Origin, json_path, to_data
from vastjob.spec.validate import check_document, sort_problems

OnFailure = Literal["continue", "stop"]
SWEEP_KEYS = ("matrix", "sweep")


@dataclass(frozen=True)
class SweepPolicy:
    """How a sweep runs: how many at once, the dollars it may spend in all, what a failed run does."""

    budget: float
    max_parallel: int = 1
    on_failure: OnFailure = "continue"


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its name, the matrix values that made it (path -> value), and its job."""

    name: str
    values: tuple[tuple[str, Any], ...]
    job: JobSpec

    def values_text(self) -> str:
        """`path=value, ...` for tables."""
        return ", ".join(f"{k}={v}" for k, v in self.values)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its name and file, its policy, and its runs in matrix order."""

    name: str
    source: str
    policy: SweepPolicy
    runs: tuple[Run, ...]

    def run(self, name: str) -> Run:
        """The run called `name`; a UserError naming the closest ones otherwise."""
        for run in self.runs:
            if run.name == name:
                return run
        names = [r.name for r in self.runs]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f" (runs: {', '.join(names)})"
        raise UserError(f"sweep {self.name} has no run {name!r}{hint}")


def is_sweep(root: Node) -> bool:
    """Whether a resolved document is a sweep (it has `matrix` or `sweep`)."""
    return isinstance(root.value, dict) and any(k in root.value for k in SWEEP_KEYS)


def _positions(node: Node, out: set[tuple[str, int, int]]) -> None:
    """Every place a value node (and what is inside it) was written."""
    out.add((node.origin.file, node.origin.line, node.origin.col))
    if isinstance(node.value, dict):
        children = list(node.value.values())
    else:
        children = node.value if isinstance(node.value, list) else []
    for child in children:
        _positions(child, out)


def _frame(root: Node, file: str) -> tuple[list[Problem], str | None]:
    """The sweep's own requirements: both blocks present, and a name the runs' names can start with."""
    assert isinstance(root.value, dict)
    problems: list[Problem] = []
    for have, need in (("matrix", "sweep"), ("sweep", "matrix")):
        if have in root.value and need not in root.value:
            at = root.keys[have]
            what = "the policy of its runs (sweep.budget)" if need == "sweep" else "the runs to make (matrix)"
            problems.append(Problem(at.file, at.line, at.col, f"$.{have}", f"a sweep needs {need}: {what}"))
    name = root.child("name")
    if name is None:
        problems.append(Problem(file, root.origin.line, root.origin.col, "$", "missing required key 'name'"))
        return problems, None
    if not isinstance(name.value, str) or not JOB_NAME.fullmatch(name.value):
        return problems, None  # the schema explains it, at the name's line
    return problems, name.value


def check_sweep(
    root: Node, file: str, extends_at: Origin | None, warnings: list[Problem]
) -> tuple[Sweep | None, dict[str, Any], list[Problem]]:
    """The sweep, its template document and every problem: the frame, the matrix, then each run."""
    problems, name = _frame(root, file)
    matrix = root.child("matrix")
    combos: list[Combination] = []
    if matrix is not None:
        combos, found = expand(matrix)
        problems += found
    template, found = check_document(root, file, extends_at, base=True)
    if problems or name is None or not combos:
        # The matrix cannot be expanded: the template's own problems (those of a block, a type) are what
        # can be said, its required keys aside, which the matrix may have been meant to set.
        return None, template, sort_problems(list(dict.fromkeys([*problems, *found])), file)
    runs: list[Run] = []
    seen: dict[Problem, None] = {}
    by_value: dict[Problem, list[str]] = {}  # a problem at a matrix entry -> the runs it is found in
    name_node = root.child("name")
    assert name_node is not None
    for combo, run_name in zip(combos, run_names(name, combos), strict=True):
        run_root, bad = _apply(root, combo, Node(run_name, name_node.origin), run_name)
        if bad:
            seen.update(dict.fromkeys(bad))
            continue
        doc, found = check_document(run_root, file, extends_at, warnings=warnings)
        placed: set[tuple[str, int, int]] = set()
        for _, node in combo.values:
            _positions(node, placed)
        for problem in found:
            if (problem.file, problem.line, problem.col) in placed:
                by_value.setdefault(problem, []).append(run_name)
            else:
                seen[problem] = None
        if "max_runtime" not in doc.get("run", {}) and isinstance(doc.get("run"), dict):
            at = run_root.keys.get("run", root.origin)
            message = "a sweep's runs need run.max_runtime: without it a run has no worst case for the budget"
            seen[Problem(at.file, at.line, at.col, "$.run", message)] = None
        job_doc = {k: v for k, v in doc.items() if k not in SWEEP_KEYS}
        values = tuple((path, to_data(node)) for path, node in combo.values)
        if not found:
            runs.append(Run(run_name, values, JobSpec.from_document(job_doc, source=file)))
    for problem, names in by_value.items():
        which = f"run {names[0]}" if len(names) == 1 else f"runs {', '.join(names[:3])}"
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        seen[Problem(*_where(problem), f"{problem.message} ({which}{more})")] = None
    warnings[:] = list(dict.fromkeys(warnings))  # a warning about what every run shares, once
    problems = sort_problems(list(seen), file)
    if problems:
        return None, template, problems
    policy = template.get("sweep", {})
    return (
        Sweep(
            name,
            file,
            SweepPolicy(
                budget=float(policy["budget"]),
                max_parallel=int(policy.get("max_parallel", 1)),
                on_failure=policy.get("on_failure", "continue"),
            ),
            tuple(runs),
        ),
        template,
        [],
    )


def _where(problem: Problem) -> tuple[str, int, int, str]:
    return problem.file, problem.line, problem.col, problem.path


def _apply(root: Node, combo: Combination, name: Node, run_name: str) -> tuple[Node, list[Problem]]:
    """The spec with one combination's values set at their paths, and its name; problems where a path
    cannot be set (through a value that is not a mapping)."""
    problems = []
    out = apply_override(root, ["name"], name)
    for path, value in combo.values:
        try:
            out = apply_override(out, path.split("."), value)
        except OverrideError as err:
            at = value.origin
            where = json_path(("matrix", path))
            problems.append(Problem(at.file, at.line, at.col, where, f"{err} (run {run_name})"))
    return out, problems
