"""The fast validity gate answers exactly as jsonschema does, on valid documents and on broken ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vastjob.spec.fastcheck import compile_gate, equal
from vastjob.spec.load import check_file
from vastjob.spec.schema import gate, validator

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    check_file(p).document
    for p in [
        *sorted((ROOT / "jobs").glob("[!_]*.yaml")),
        *sorted((ROOT / "tests/cases/valid").glob("*/job.yaml")),
    ]
]
ODD = st.sampled_from(
    [
        True,
        False,
        0,
        1,
        1.0,
        2.5,
        -1,
        0.0,
        49,
        10**9,
        "",
        "x",
        "US",
        "12h",
        "0s",
        "a" * 49,
        "H200 NVL",
        "price",
        "destroy",
        "B2_KEY_ID",
        "1X",
        "/abs",
        "0123456789abcdef",
        None,
        [],
        {},
        [1, True],
        ["a", "a"],
        {"k": "v"},
        {"id": "a", "run": "b"},
        ["price", "price"],
        float("inf"),
    ]
)


def _paths(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*here, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], action: str, value: Any, key: str) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value if action == "set" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "set":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][key] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    return doc


def test_the_schema_compiles_to_a_gate() -> None:
    assert gate(False) is not None and gate(True) is not None


def test_an_unknown_keyword_disables_the_gate() -> None:
    assert compile_gate({"type": "object", "patternProperties": {"^a": {}}}) is None


def test_json_equality() -> None:
    assert equal(1, 1.0) and not equal(True, 1) and not equal([1], [True]) and equal({"a": [1]}, {"a": [1.0]})


@pytest.mark.parametrize("base", [False, True])
def test_the_seeds_are_valid(base: bool) -> None:
    for doc in SEEDS:
        assert gate(base)(doc) is True  # type: ignore[misc]
        assert validator(base).is_valid(doc)


@settings(max_examples=400, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    picks=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from(["set", "delete", "add"]),
            ODD,
            st.sampled_from(["name", "extra", "id", "count", "A_B", "type"]),
        ),
        min_size=1,
        max_size=3,
    ),
    base=st.booleans(),
)
def test_the_gate_agrees_with_jsonschema(
    seed: Any, picks: list[tuple[int, str, Any, str]], base: bool
) -> None:
    doc = seed
    for index, action, value, key in picks:
        paths = _paths(doc)
        doc = _mutate(doc, paths[index % len(paths)], action, value, key)
    check = gate(base)
    assert check is not None
    assert check(doc) == validator(base).is_valid(doc), json.dumps(doc, default=str)[:400]
