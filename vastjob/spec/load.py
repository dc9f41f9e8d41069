"""Loading a job: read the file and its `extends` chain, merge, apply `--set`, validate, build a `JobSpec`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vastjob.errors import Problem, SpecError
from vastjob.spec.merge import OverrideError, apply_override, merge, parse_override
from vastjob.spec.model import JobSpec
from vastjob.spec.nodes import Node, Origin
from vastjob.spec.reader import read_yaml
from vastjob.spec.validate import check_document, sort_problems


@dataclass
class Reader:
    """Reads spec files once each, so a parent shared by many jobs is parsed once."""

    fast: bool = True
    _cache: dict[str, tuple[Node | None, list[Problem]]] = field(default_factory=dict)

    def read(self, real: str, shown: str) -> tuple[Node | None, list[Problem]]:
        """The tree and the YAML-level problems of one file."""
        if real not in self._cache:
            try:
                text = Path(real).read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                self._cache[real] = (None, [Problem(shown, 0, 0, "$", f"not UTF-8 text: {err.reason}")])
            except OSError as err:
                self._cache[real] = (None, [Problem(shown, 0, 0, "$", f"cannot read: {err.strerror}")])
            else:
                self._cache[real] = read_yaml(text, shown, fast=self.fast)
        return self._cache[real]


@dataclass
class Checked:
    """The outcome of checking one spec: the job (when valid), every problem, and the parent files it read."""

    file: str
    job: JobSpec | None
    problems: list[Problem]
    parents: list[str] = field(default_factory=list)  # real paths of the extended files
    document: dict[str, Any] = field(default_factory=dict)


def _without_extends(node: Node) -> Node:
    assert isinstance(node.value, dict)
    items = {k: v for k, v in node.value.items() if k != "extends"}
    return Node(items, node.origin, keys={k: node.keys[k] for k in items})


def _resolve(
    chain: list[tuple[str, str]], reader: Reader, parents: list[str]
) -> tuple[Node | None, list[Problem], bool]:
    """The merged tree of the last file of `chain` (real, shown) and its parents; False if broken."""
    real, shown = chain[-1]
    node, problems = reader.read(real, shown)
    problems = list(problems)
    if node is None:
        return None, problems, False
    ext = node.child("extends") if isinstance(node.value, dict) else None
    if ext is None or not isinstance(ext.value, str) or not ext.value:
        return node, problems, True  # a wrong type is left for the schema to report
    parent_shown = os.path.normpath(os.path.join(os.path.dirname(shown), ext.value))
    parent_real = os.path.realpath(os.path.join(os.path.dirname(real), ext.value))
    at = ext.origin
    reals = [r for r, _ in chain]
    if parent_real in reals:
        names = [s for _, s in chain] + [parent_shown]
        problems.append(
            Problem(shown, at.line, at.col, "$.extends", "extends forms a cycle: " + " -> ".join(names))
        )
        return node, problems, False
    if not os.path.isfile(parent_real):
        problems.append(Problem(shown, at.line, at.col, "$.extends", f"{parent_shown} does not exist"))
        return node, problems, False
    parents.append(parent_real)
    parent, parent_problems, ok = _resolve([*chain, (parent_real, parent_shown)], reader, parents)
    problems.extend(parent_problems)
    if parent is None or not ok:
        return node, problems, False
    if not isinstance(parent.value, dict):
        problems.append(Problem(shown, at.line, at.col, "$.extends", f"{parent_shown} is not a YAML mapping"))
        return node, problems, False
    return merge(_without_extends(parent), node), problems, True


def check_file(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    base: bool | None = None,
    reader: Reader | None = None,
) -> Checked:
    """Check one spec, returning every problem instead of raising; `base` defaults to a leading `_`."""
    shown = os.fspath(path)
    real = os.path.realpath(shown)
    if base is None:
        base = os.path.basename(shown).startswith("_")
    reader = reader or Reader()
    if not os.path.isfile(real):
        return Checked(shown, None, [Problem(shown, 0, 0, "$", "no such file")])
    parents: list[str] = []
    root, problems, ok = _resolve([(real, shown)], reader, parents)
    if root is None or not ok:
        return Checked(shown, None, sort_problems(problems, shown), parents)
    extends_at: Origin | None = None
    if parents and isinstance(root.value, dict):
        extends_at = root.keys.get("extends")
        root = _without_extends(root)
    for arg in overrides:
        try:
            parts, value = parse_override(arg, shown)
            root = apply_override(root, parts, value)
        except OverrideError as err:
            problems.append(Problem(shown, 0, 0, "$", f"--set {arg}: {err}"))
    doc, found = check_document(root, shown, extends_at, base=base)
    problems = sort_problems([*problems, *found], shown)
    if problems or base:
        return Checked(shown, None, problems, parents, doc)
    return Checked(shown, JobSpec.from_document(doc, source=shown), [], parents, doc)


def load_job(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> JobSpec:
    """Read, merge, override and validate a job spec; raises `SpecError` carrying every problem."""
    checked = check_file(path, overrides, base=False)
    if checked.problems or checked.job is None:
        raise SpecError(checked.problems or [Problem(checked.file, 0, 0, "$", "not a job spec")])
    return checked.job
