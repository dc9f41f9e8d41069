"""The YAML reader: YAML 1.2 scalars, positions, and the libyaml and ruamel.yaml paths agreeing."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vastjob.spec.nodes import Node, to_data
from vastjob.spec.parsers import has_fast_parser
from vastjob.spec.reader import read_yaml, resolve_plain


def test_core_schema_scalars() -> None:
    cases = {
        "1": 1,
        "-7": -7,
        "0o17": 15,
        "0x1F": 31,
        "1.5": 1.5,
        "1e10": 1e10,
        "true": True,
        "False": False,
        "~": None,
        "": None,
        "null": None,
        "yes": "yes",
        "off": "off",
        "2024-01-01": "2024-01-01",
        "1_000": "1_000",
        "12:30": "12:30",
        "0777": 777,
    }
    assert {text: resolve_plain(text) for text in cases} == cases
    assert math.isnan(float(resolve_plain(".nan") or 0))


def test_plain_scalars_keep_their_text_and_positions() -> None:
    node, problems = read_yaml("a:\n  b: 1e10\n  c: '1e10'\n", "f.yaml")
    assert problems == [] and node is not None
    tree: Any = node.value  # a mapping of nodes, read here without narrowing each level
    b, c = tree["a"].value["b"], tree["a"].value["c"]
    assert (b.value, b.text, b.origin.line, b.origin.col) == (1e10, "1e10", 2, 6)
    assert (c.value, c.text) == ("1e10", None)
    assert tree["a"].keys["c"].line == 3


def test_libyaml_is_the_fast_path_here() -> None:
    assert has_fast_parser()


def test_aliases_share_one_value() -> None:
    node, problems = read_yaml("a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert problems == [] and node is not None
    assert to_data(node) == {"a": [1, 2], "b": [1, 2]}


def _same(text: str) -> tuple[object, list[str]]:
    node, problems = read_yaml(text, "f.yaml", fast=True)
    ref_node, ref_problems = read_yaml(text, "f.yaml", fast=False)
    assert [str(p) for p in problems] == [str(p) for p in ref_problems]
    assert _shape(node) == _shape(ref_node)
    return (to_data(node) if node else None), [str(p) for p in problems]


def _shape(node: Node | None) -> object:
    """Values, texts and positions of a whole tree."""
    if node is None:
        return None
    here = (node.origin.line, node.origin.col, node.text)
    if isinstance(node.value, dict):
        return here, {k: (node.keys[k].line, node.keys[k].col, _shape(v)) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return here, [_shape(v) for v in node.value]
    return here, repr(node.value)


SCALAR_TEXT = st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "1e10",
        "0o17",
        "0x1f",
        "1_000",
        "12:30",
        "2024-01-01",
        "~",
        "true",
        "1.50",
        ".inf",
        "-0",
        "+1",
        "a: b",
        "#x",
        "'q'",
        "",
        " x",
    ]
)
VALUES = st.recursive(
    st.one_of(
        st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.text(max_size=8), SCALAR_TEXT
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(value=VALUES, flow=st.booleans())
def test_both_parsers_agree_on_any_document(value: object, flow: bool) -> None:
    _same(yaml.safe_dump({"doc": value}, default_flow_style=flow, allow_unicode=True))


@settings(max_examples=100, deadline=None)
@given(words=st.lists(SCALAR_TEXT, min_size=1, max_size=6))
def test_both_parsers_agree_on_plain_scalars(words: list[str]) -> None:
    text = "".join(f"k{i}: {w}\n" for i, w in enumerate(words))
    _same(text)


def test_nesting_too_deep_for_ruamel_is_read_by_libyaml_on_both_paths() -> None:
    from vastjob.spec.yaml_problems import MAX_DEPTH, TOO_DEEP, first_too_deep

    # ruamel.yaml composes by recursion and fails at a few hundred levels; libyaml reads up to 1000.
    text = "a:\n  b: " + "[" * 700 + "]" * 700 + "\n"
    fast, reference = read_yaml(text, "f.yaml", fast=True), read_yaml(text, "f.yaml", fast=False)
    assert fast[0] is not None and reference[0] is not None
    assert to_data(fast[0]) == to_data(reference[0]) and fast[1] == reference[1]
    # Depth 1 is the document, 2 is a's map: the list crossing the limit comes after MAX_DEPTH - 2 others.
    (problem,) = fast[1]
    assert (problem.line, problem.col, problem.message) == (2, len("  b: ") + MAX_DEPTH - 1, TOO_DEEP)
    # Deeper than libyaml reads, the place is found from the parser's events; a syntax error is one.
    assert "YAML syntax error" in first_too_deep("a: [b\nc: {", "f.yaml").message
