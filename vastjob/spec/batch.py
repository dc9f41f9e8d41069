"""Checking many specs at once: files, folders and globs; `_` bases through the jobs extending them."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from vastjob.errors import Problem
from vastjob.spec.load import Checked, Reader, check_file

SPEC_SUFFIXES = (".yaml", ".yml")


def is_base(path: str) -> bool:
    """A base spec's file name starts with `_`: it need not be a whole job on its own."""
    return os.path.basename(path).startswith("_")


@dataclass
class Batch:
    """The outcome of checking many specs: each job's result, bases checked alone, and every problem."""

    checked: list[Checked] = field(default_factory=list)
    bases_through_jobs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # each once, even from a parent many jobs share

    @property
    def ok(self) -> bool:
        """No problem anywhere."""
        return not self.problems


def expand(paths: Sequence[str]) -> tuple[list[str], list[str], list[Problem]]:
    """Named files (bases too), files found in folders and globs (bases apart), and what matched nothing."""
    named: list[str] = []
    found_bases: list[str] = []
    problems: list[Problem] = []
    for arg in paths:
        if os.path.isdir(arg):
            matches = sorted(os.path.join(arg, n) for n in os.listdir(arg) if n.endswith(SPEC_SUFFIXES))
        elif os.path.exists(arg):
            named.append(arg)
            continue
        elif glob.has_magic(arg):
            matches = sorted(m for m in glob.glob(arg, recursive=True) if os.path.isfile(m))
        else:
            problems.append(Problem(arg, 0, 0, "$", "no such file or folder"))
            continue
        if not matches:
            problems.append(Problem(arg, 0, 0, "$", "no .yaml or .yml spec found here"))
        for match in matches:
            (found_bases if is_base(match) else named).append(match)
    return list(dict.fromkeys(named)), list(dict.fromkeys(found_bases)), problems


def check_paths(paths: Sequence[str], overrides: Sequence[str] = (), *, fast: bool = True) -> Batch:
    """Check every spec named; a base found in a folder or glob is checked alone only if no job extends it."""
    jobs, bases, problems = expand(paths)
    reader = Reader(fast=fast)
    batch = Batch()
    extended: set[str] = set()
    for path in jobs:
        result = check_file(path, overrides, reader=reader)
        batch.checked.append(result)
        extended.update(result.parents)
        problems.extend(result.problems)
    for path in bases:
        if os.path.realpath(path) in extended:
            batch.bases_through_jobs.append(path)
            continue
        result = check_file(path, overrides, base=True, reader=reader)
        batch.checked.append(result)
        problems.extend(result.problems)
    problems.extend(_same_names(batch.checked))
    # A parent shared by many jobs reports its own YAML problems once, not once per job.
    batch.problems = _once_at_parents(list(dict.fromkeys(problems)), batch.checked)
    batch.warnings = _once_at_parents([w for c in batch.checked for w in c.warnings], batch.checked)
    return batch


def _once_at_parents(problems: list[Problem], checked: list[Checked]) -> list[Problem]:
    """Each problem a parent wrote once, at the parent's own line, naming the jobs that inherit it; the
    rest as they are. A parent's YAML problems already stand at its own lines, and are kept once."""
    heirs: dict[Problem, list[str]] = {}
    moved: dict[Problem, Problem] = {}
    for result in checked:
        for problem, at_parent in result.inherited.items():
            moved[problem] = at_parent
            heirs.setdefault(at_parent, [])
            if result.file not in heirs[at_parent]:
                heirs[at_parent].append(result.file)
    out: dict[Problem, None] = {}
    for problem in problems:
        parent = moved.get(problem)
        if parent is None:
            out[problem] = None
            continue
        names = heirs[parent]
        shown = ", ".join(names) if len(names) <= 5 else ", ".join(names[:5]) + f" and {len(names) - 5} more"
        message = f"{parent.message} (inherited by {shown})"
        out[Problem(parent.file, parent.line, parent.col, parent.path, message)] = None
    return list(out)


def _same_names(checked: list[Checked]) -> list[Problem]:
    """Two jobs with one name share the instance label's prefix: status, stop, destroy and apply --replace
    of one would act on the other's instance. Each file after the first is reported."""
    first: dict[str, Checked] = {}
    problems: list[Problem] = []
    for result in checked:
        if result.job is None:
            continue
        other = first.setdefault(result.job.name, result)
        if other is result or os.path.realpath(other.file) == os.path.realpath(result.file):
            continue
        line, col, inherited = result.name_at
        how = " (inherited through extends)" if inherited else ""
        message = f"{result.job.name!r}{how} is also the name of {other.file}; give each job its own name"
        problems.append(Problem(result.file, line, col, "$.name", message))
    # A sweep's runs are jobs too: one named like a job (or like another sweep's run) shares its label.
    for result in checked:
        for run in result.sweep.runs if result.sweep is not None else ():
            other = first.setdefault(run.name, result)
            if other is not result:
                message = f"run {run.name!r} of this sweep is also the name of a job in {other.file}"
                problems.append(Problem(result.file, 0, 0, "$.matrix", message))
    return problems
