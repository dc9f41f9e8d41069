"""YAML 1.2's tabs: separating white space wherever a line already has a word, or on a blank line;
never indentation. Both reading paths give the same values."""

from __future__ import annotations

import pytest

from vastjob.spec.nodes import to_data
from vastjob.spec.reader import read_yaml

ACCEPTED = {
    "before a comment": ("a: 1\t# c\nb: 2\n", {"a": 1, "b": 2}),
    "at the end of a line": ("a: 1\t\nb: 2\n", {"a": 1, "b": 2}),
    "alone on a blank line": ("a: 1\n\t\nb: 2\n", {"a": 1, "b": 2}),
    "before a comment-only line": ("a: 1\n\t# note\nb: 2\n", {"a": 1, "b": 2}),
    "after the colon": ("a:\t1\n", {"a": 1}),
    "inside a plain value": ("a: x\ty\nb: 2\n", {"a": "x\ty", "b": 2}),
    "among spaces in a value": ("a: x \t y z\n", {"a": "x \t y z"}),
    "in a flow collection": ("a: [1,\t2]\t# x\n", {"a": [1, 2]}),
    "after a list dash": ("a:\n  -\tx\n  - y\t\n", {"a": ["x", "y"]}),
    "in a folded plain value": ("a: x\n  y\tz\t\n  w\n", {"a": "x y\tz w"}),
    "in a literal block": ("a: |\n  x\ty\t\nb: 1\n", {"a": "x\ty\t\n", "b": 1}),
    "in double quotes": ('a: "x\ty"\n', {"a": "x\ty"}),
}


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_separating_tab_is_white_space(name: str, fast: bool) -> None:
    text, value = ACCEPTED[name]
    node, problems = read_yaml(text, "t.yaml", fast=fast)
    assert problems == []
    assert node is not None and to_data(node) == value


@pytest.mark.parametrize("text", ["a:\n\tb: 1\n", "a:\n  b: 1\n\tc: 2\n", "a:\n  \tb: 1\n"])
def test_a_tab_that_indents_is_refused_with_the_fix(text: str) -> None:
    node, [problem] = read_yaml(text, "t.yaml")
    assert node is None
    assert problem.message == "YAML syntax error: tabs cannot indent YAML; indent with spaces"
