"""`matrix:` in a spec: axes over dotted spec paths expanded as a product, then `exclude` and `include` as
GitHub Actions' matrix applies them; and the deterministic name of each combination.

An axis is `dotted.path: [value, ...]`. `exclude` entries remove every combination that matches all of their
pairs; `include` entries are then added to each combination whose axis values they do not change, and an
entry that fits none becomes a combination of its own. Values keep their nodes, so that a problem a value
causes is reported at the matrix entry that wrote it.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
from dataclasses import dataclass

from vastjob.errors import Problem
from vastjob.spec.model import JOB_NAME, canonical_json
from vastjob.spec.nodes import Node, describe, json_path, named, to_data
from vastjob.spec.yaml_problems import MAX_DEPTH

MAX_RUNS = 256  # combinations in one sweep; each is a rented machine
NAME_LIMIT = 48  # the job name rule (JOB_NAME)
KEYWORDS = ("include", "exclude")
# Paths a matrix may not vary: the run's name is made from its values, and these frame the spec itself.
FIXED = ("name", "extends", "version", "matrix", "sweep")
_PATH = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_.-]+)*$")
_EXTENSION = re.compile(r"\.[A-Za-z]{1,5}$")


@dataclass(frozen=True)
class Combination:
    """One run's values: (dotted path, value node) in the matrix's order."""

    values: tuple[tuple[str, Node], ...]

    def plain(self) -> dict[str, object]:
        """The values as plain data, by path."""
        return {path: to_data(node) for path, node in self.values}

    def key(self) -> str:
        """The same text for the same values, whatever their order."""
        return canonical_json(self.plain())


def _problem(node: Node, path: tuple[str | int, ...], message: str, key: str | None = None) -> Problem:
    origin = node.keys.get(key, node.origin) if key is not None else node.origin
    return Problem(origin.file, origin.line, origin.col, json_path(path), message)


def _path_problem(key: str) -> str | None:
    """Why `key` cannot be an axis (a dotted spec path), or None."""
    if not _PATH.match(key):
        return f"{named(key)} is not a dotted spec path such as env.TRAIN_STAGE or offer.gpu.count"
    if key.split(".")[0] in FIXED:
        return f"{key.split('.')[0]} cannot vary in a matrix; each run's name is made from its values"
    if len(key.split(".")) > MAX_DEPTH:
        return f"{named(key)} nests deeper than a job spec does"
    return None


def _entries(node: Node, what: str, problems: list[Problem]) -> list[tuple[int, Node]]:
    """The mappings of an include or exclude list, each checked to be paths to values."""
    if not isinstance(node.value, list):
        problems.append(
            _problem(node, ("matrix", what), f"{what} is a list of mappings, not {describe(node.value)}")
        )
        return []
    out = []
    for i, item in enumerate(node.value):
        where: tuple[str | int, ...] = ("matrix", what, i)
        if not isinstance(item.value, dict) or not item.value:
            problems.append(_problem(item, where, f"each {what} entry maps spec paths to values"))
            continue
        bad = False
        for key, value in item.value.items():
            why = _path_problem(key) or (f"{key} is null; give it a value" if value.value is None else None)
            if why:
                problems.append(_problem(item, (*where, key), why, key))
                bad = True
        if not bad:
            out.append((i, item))
    return out


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and canonical_json(to_data(a)) == canonical_json(to_data(b))


def expand(matrix: Node) -> tuple[list[Combination], list[Problem]]:
    """Every combination of a matrix node, in order (product, then include's new ones); or the problems."""
    problems: list[Problem] = []
    if not isinstance(matrix.value, dict) or not matrix.value:
        return [], [_problem(matrix, ("matrix",), "a matrix maps spec paths to lists of values")]
    axes: dict[str, list[Node]] = {}
    for key, node in matrix.value.items():
        if key in KEYWORDS:
            continue
        where: tuple[str | int, ...] = ("matrix", key)
        why = _path_problem(key)
        if why:
            problems.append(_problem(matrix, where, why, key))
        elif not isinstance(node.value, list) or not node.value:
            problems.append(
                _problem(node, where, f"an axis is a non-empty list of values, not {describe(node.value)}")
            )
        else:
            seen: set[str] = set()
            for i, item in enumerate(node.value):
                text = canonical_json(to_data(item))
                if item.value is None:
                    problems.append(_problem(item, (*where, i), "null is no value for a run; remove it"))
                elif text in seen:
                    problems.append(_problem(item, (*where, i), f"{describe(to_data(item))} is listed twice"))
                seen.add(text)
            axes[key] = list(node.value)
    excludes = _entries(matrix.value["exclude"], "exclude", problems) if "exclude" in matrix.value else []
    includes = _entries(matrix.value["include"], "include", problems) if "include" in matrix.value else []
    for i, entry in excludes:
        for key in entry.value if isinstance(entry.value, dict) else {}:
            if key not in axes:
                close = difflib.get_close_matches(key, list(axes), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else f" (axes: {', '.join(axes) or 'none'})"
                where = ("matrix", "exclude", i, key)
                problems.append(
                    _problem(entry, where, f"{key} is not an axis, so it matches nothing{hint}", key)
                )
    if problems:
        return [], problems
    size = 1
    for values in axes.values():
        size *= len(values)
    if axes and size > MAX_RUNS:
        return [], [
            _problem(matrix, ("matrix",), f"the matrix makes {size} runs; a sweep has at most {MAX_RUNS}")
        ]
    product = (
        [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())] if axes else []
    )
    product = [c for c in product if not any(_matches(c, e) for _, e in excludes)]
    extra: list[dict[str, Node]] = []
    for _, entry in includes:
        assert isinstance(entry.value, dict)
        fits = [
            c for c in product if all(k not in axes or _same(c.get(k), v) for k, v in entry.value.items())
        ]
        for combo in fits:
            combo.update(entry.value)  # values include added may be changed by a later entry
        if not fits:
            extra.append(dict(entry.value))
    combos: dict[str, Combination] = {}
    for combo in [*product, *extra]:
        ordered = sorted(
            combo.items(), key=lambda kv: list(axes).index(kv[0]) if kv[0] in axes else len(axes)
        )
        found = Combination(tuple(ordered))
        combos.setdefault(found.key(), found)
    if not combos:
        return [], [
            _problem(matrix, ("matrix",), "the matrix makes no run (exclude removed every combination)")
        ]
    if len(combos) > MAX_RUNS:
        return [], [
            _problem(
                matrix, ("matrix",), f"the matrix makes {len(combos)} runs; a sweep has at most {MAX_RUNS}"
            )
        ]
    return list(combos.values()), []


def _matches(combo: dict[str, Node], entry: Node) -> bool:
    assert isinstance(entry.value, dict)
    return all(_same(combo.get(k), v) for k, v in entry.value.items())


def _slug(value: object) -> str:
    """A value as a name part: a path's last part without its extension, lower-case letters, digits, -."""
    text = canonical_json(value) if isinstance(value, dict | list) else describe(value).strip('"')
    if "/" in text:
        text = _EXTENSION.sub("", text.rstrip("/").rsplit("/", 1)[-1])
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _short(base: str, parts: list[str], digest: str) -> str:
    """`base-part-part-digest` within the name limit: the longest parts are cut first."""
    parts = list(parts)
    room = NAME_LIMIT - len(base) - 1 - len(digest) - 1
    while parts and sum(len(p) + 1 for p in parts) - 1 > room and max(len(p) for p in parts) > 1:
        longest = max(range(len(parts)), key=lambda i: len(parts[i]))
        parts[longest] = parts[longest][:-1].rstrip("-") or parts[longest][:1]
    text = "-".join([base, *parts]) if parts and sum(len(p) + 1 for p in parts) - 1 <= room else base
    return f"{text[: NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


def run_names(sweep: str, combos: list[Combination]) -> list[str]:
    """Each combination's job name: `<sweep>-<values>`; cut, with a digest of the values, when that is too
    long or not unique. Deterministic: the same values give the same name in any sweep of that name."""
    plain = [f"{sweep}-" + "-".join(_slug(to_data(n)) for _, n in c.values) for c in combos]
    counts: dict[str, int] = {}
    for name in plain:
        counts[name] = counts.get(name, 0) + 1
    names = []
    for combo, name in zip(combos, plain, strict=True):
        if len(name) <= NAME_LIMIT and counts[name] == 1 and JOB_NAME.fullmatch(name):
            names.append(name)
            continue
        digest = hashlib.sha256(combo.key().encode()).hexdigest()[:6]
        names.append(_short(sweep, [_slug(to_data(n)) for _, n in combo.values], digest))
    return names
