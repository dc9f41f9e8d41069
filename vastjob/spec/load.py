"""Loading a job: read the file and its `extends` chain, merge, apply `--set`, validate, build a `JobSpec`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastjob.errors import Problem, SpecError
from vastjob.spec.merge import OverrideError, apply_override, merge, parse_override
from vastjob.spec.model import JobSpec
from vastjob.spec.nodes import Node, Origin
from vastjob.spec.reader import read_yaml
from vastjob.spec.validate import check_document, sort_problems

if TYPE_CHECKING:
    from vastjob.spec.sweep import Sweep

MAX_EXTENDS = 32  # files in one extends chain; real chains have two or three
# The largest spec file read: real specs are a few kilobytes, and the cap, checked before the file is read,
# keeps any input from taking more than a moment or much memory.
MAX_BYTES = 1024 * 1024
# (start of the file, encoding), longest first: a UTF-32 byte-order mark begins like UTF-16's. Without a
# mark, ASCII text in these encodings has NULs in a fixed pattern.
_WIDE_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


@dataclass
class Reader:
    """Reads spec files once each, so a parent shared by many jobs is parsed once."""

    fast: bool = True
    _cache: dict[str, tuple[Node | None, list[Problem]]] = field(default_factory=dict)

    def read(self, real: str, shown: str) -> tuple[Node | None, list[Problem]]:
        """The tree and the YAML-level problems of one file."""
        if real not in self._cache:
            self._cache[real] = self._read(real, shown)
        return self._cache[real]

    def _read(self, real: str, shown: str) -> tuple[Node | None, list[Problem]]:
        try:
            size = os.stat(real).st_size
            if size > MAX_BYTES:
                message = f"the file is {size} bytes; a job spec may have at most {MAX_BYTES} (1 MiB)"
                return None, [Problem(shown, 1, 1, "$", message)]
            data = Path(real).read_bytes()[: MAX_BYTES + 1]  # it may have grown since
        except OSError as err:
            return None, [Problem(shown, 0, 0, "$", f"cannot read: {err.strerror}")]
        wide = _wide_encoding(data)
        if wide:
            return None, [Problem(shown, 1, 1, "$", f"the file is {wide} text; save it as UTF-8")]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            return None, [_not_utf8(shown, err)]
        return read_yaml(text, shown, fast=self.fast)


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a byte-order mark or by the NULs around ASCII characters; else None."""
    for mark, name in _WIDE_ENCODINGS:
        if data.startswith(mark):
            return name
    head = data[:4]
    if len(head) == 4 and ((head[0] and not any(head[1:])) or (head[3] and not any(head[:3]))):
        return "UTF-32"
    if len(head) >= 2 and bool(head[0]) != bool(head[1]):
        return "UTF-16"
    return None


def _not_utf8(shown: str, err: UnicodeDecodeError) -> Problem:
    """Where a file stops being UTF-8, and what to do about it."""
    data = bytes(err.object)
    start = data.rfind(b"\n", 0, err.start) + 1
    line = data.count(b"\n", 0, err.start) + 1
    col = len(data[start : err.start].decode("utf-8", "replace")) + 1
    message = f"not UTF-8 text: byte 0x{data[err.start]:02x} ({err.reason}); save the file as UTF-8"
    return Problem(shown, line, col, "$", message)


def _not_a_file(path: str) -> str:
    """Why a path cannot be read as a spec: missing, a folder, or something else that is not a file."""
    if os.path.isdir(path):
        return "is a folder, not a spec file"
    return "is not a regular file" if os.path.exists(path) else "does not exist"


@dataclass
class Checked:
    """The outcome of checking one spec: the job (when valid), every problem, and the parent files it read."""

    file: str
    job: JobSpec | None
    problems: list[Problem]
    parents: list[str] = field(default_factory=list)  # real paths of the extended files
    document: dict[str, Any] = field(default_factory=dict)
    # Where `name` is set in this file (line, col), or the extends line when it is inherited from a parent.
    name_at: tuple[int, int, bool] = (0, 0, False)  # (line, col, inherited)
    warnings: list[Problem] = field(default_factory=list)  # valid, but probably not what was meant
    # A problem (or warning) in a value a parent wrote -> the same problem at the parent's own line.
    inherited: dict[Problem, Problem] = field(default_factory=dict)
    sweep: Sweep | None = None  # a spec with `matrix:` is a sweep of jobs, not one job


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
    if len(chain) > MAX_EXTENDS:
        ends = " -> ".join([chain[0][1], chain[1][1], "...", shown])
        message = f"extends goes more than {MAX_EXTENDS} files deep ({ends}); shorten the chain"
        problems.append(Problem(shown, at.line, at.col, "$.extends", message))
        return node, problems, False
    if parent_real in reals:
        names = [s for _, s in chain] + [parent_shown]
        problems.append(
            Problem(shown, at.line, at.col, "$.extends", "extends forms a cycle: " + " -> ".join(names))
        )
        return node, problems, False
    if not os.path.isfile(parent_real):
        why = _not_a_file(parent_real)
        problems.append(Problem(shown, at.line, at.col, "$.extends", f"{parent_shown} {why}"))
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
    if isinstance(overrides, str):  # one `PATH=VALUE` passed alone, not its characters one by one
        overrides = (overrides,)
    shown = os.fspath(path)
    real = os.path.realpath(shown)
    if base is None:
        base = os.path.basename(shown).startswith("_")
    reader = reader or Reader()
    if not os.path.isfile(real):
        why = _not_a_file(real)
        message = "no such file" if why == "does not exist" else why
        return Checked(shown, None, [Problem(shown, 0, 0, "$", message)])
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
            quoted = arg if len(arg) <= 80 else arg[:77] + "..."
            problems.append(Problem(shown, 0, 0, "$", f"--set {quoted}: {err}"))
    warnings: list[Problem] = []
    inherited: dict[Problem, Problem] = {}
    if not base and _is_sweep(root):
        from vastjob.spec.sweep import check_sweep

        sweep, doc, found = check_sweep(root, shown, extends_at, warnings)
        problems = sort_problems([*problems, *found], shown)
        sweep = None if problems else sweep
        return Checked(shown, None, problems, parents, doc, warnings=warnings, sweep=sweep)
    doc, found = check_document(root, shown, extends_at, base=base, warnings=warnings, inherited=inherited)
    # A value the reader refused (too deep, too big) is null from then on: its type error would only repeat.
    refused = {(p.file, p.line, p.col, p.path) for p in problems}
    found = [p for p in found if (p.file, p.line, p.col, p.path) not in refused]
    problems = sort_problems([*problems, *found], shown)
    if problems or base:
        return Checked(shown, None, problems, parents, doc, warnings=warnings, inherited=inherited)
    job = JobSpec.from_document(doc, source=shown)
    return Checked(shown, job, [], parents, doc, _name_at(root, shown, extends_at), warnings, inherited)


def _is_sweep(root: Node) -> bool:
    return isinstance(root.value, dict) and ("matrix" in root.value or "sweep" in root.value)


def _name_at(root: Node, shown: str, extends_at: Origin | None) -> tuple[int, int, bool]:
    origin = root.keys.get("name") if isinstance(root.value, dict) else None
    if origin is None or origin.via_set is not None:
        return 0, 0, False
    if origin.file != shown and extends_at is not None:
        return extends_at.line, extends_at.col, True
    return origin.line, origin.col, False


def load_sweep(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Sweep:
    """Read and validate a sweep spec (one with `matrix:`); raises `SpecError` carrying every problem."""
    checked = check_file(path, overrides, base=False)
    if checked.problems or checked.sweep is None:
        found = checked.problems or [Problem(checked.file, 0, 0, "$", "not a sweep: it has no matrix")]
        raise SpecError(found)
    return checked.sweep


def load_spec(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> JobSpec | Sweep:
    """A job, or a sweep when the spec has `matrix:`; raises `SpecError` carrying every problem."""
    checked = check_file(path, overrides, base=False)
    if checked.sweep is not None:
        return checked.sweep
    if checked.problems or checked.job is None:
        raise SpecError(checked.problems or [Problem(checked.file, 0, 0, "$", "not a job spec")])
    return checked.job


def load_job(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> JobSpec:
    """Read, merge, override and validate a job spec; raises `SpecError` carrying every problem."""
    checked = check_file(path, overrides, base=False)
    if checked.sweep is not None:
        runs = len(checked.sweep.runs)
        message = (
            f"this spec is a sweep of {runs} runs (matrix:): render, plan, apply, status and destroy take "
            "it whole, and `vastjob render --run NAME` shows one run"
        )
        raise SpecError([Problem(checked.file, 0, 0, "$.matrix", message)])
    if checked.problems or checked.job is None:
        raise SpecError(checked.problems or [Problem(checked.file, 0, 0, "$", "not a job spec")])
    return checked.job
