"""Reading YAML into a positioned `Node` tree, with YAML 1.2 core scalars and duplicate keys as problems.

Two parsers, one result: libyaml (through PyYAML's C binding) composes the node tree fast, and ruamel.yaml is
the reference parser, used whenever libyaml is missing or refuses the text, so a syntax error is always
reported the same way. Scalars are resolved here rather than by either library, which is what keeps the two
paths identical (PyYAML speaks YAML 1.1, where `yes` is a boolean and `1e10` a string). The libraries
themselves are set up in `parsers.py`.
"""

from __future__ import annotations

import gc
import re
from typing import Any

from vastjob.errors import Problem
from vastjob.spec.nodes import Node, Origin, Path, Scalar, json_path, to_data
from vastjob.spec.parsers import (  # has_fast_parser is part of this module's interface
    IMPLICIT,
    TAG,
    compose_deep,
    compose_fast,
    compose_reference,
    has_fast_parser,
)
from vastjob.spec.yaml_problems import (
    ESCAPED_ONLY,
    MAX_DEPTH,
    MAX_VALUES,
    TOO_BIG,
    TOO_DEEP,
    escape_message,
    first_too_deep,
    syntax_problem,
    unmarked_problem,
)

# Above this size, text goes to libyaml alone, syntax errors included: the pure-Python reference parser
# takes seconds per megabyte, which would let one large file stall a whole batch.
REFERENCE_MAX_CHARS = 64 * 1024

# Text the two parsers may read differently goes to ruamel.yaml alone (found by fuzzing both): line breaks
# only YAML 1.1 has (and a lone CR), tabs, byte-order marks, a comment glued to a block scalar's header,
# and anything that may be a tag, an anchor or an alias. Ordinary specs take the fast path.
_REFERENCE_ONLY = re.compile(
    r"[\x85\u2028\u2029\t\ufeff]|\r(?!\n)|[|>][-+0-9]*#|(?:^|[\[\]{},:?-]) *[!&*]", re.MULTILINE
)
_NON_TEXT_STARTS = frozenset("0123456789+-.~nNtTfF")
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_MAX_INT_DIGITS = 64
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")


def resolve_plain(text: str) -> Scalar:
    """The value of an unquoted scalar under YAML 1.2's core schema."""
    if text and text[0] not in _NON_TEXT_STARTS:  # most scalars are words: settled by one look
        return text
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        # Python refuses to read an integer of thousands of digits (and takes quadratic time to): one that
        # long is a float, infinite past 309 digits, which every number field refuses.
        return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _children(node: Node) -> list[Node]:
    if isinstance(node.value, dict):
        return list(node.value.values())
    return node.value if isinstance(node.value, list) else []


class _Builder:
    """Turns either library's composed nodes into `Node`s, collecting problems instead of stopping."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.pending: list[tuple[Origin, Path, str]] = []
        # An alias shares its anchor's node: built once. Every later step sees each use, though, so the size
        # a value expands to is counted, which stops a "billion laughs" document before it is expanded.
        self._done: dict[int, Node] = {}
        self._open: set[int] = set()
        self._size: dict[Node, int] = {}  # values each node expands to (keyed by the node: ids get reused)
        self._depth = 0
        self._too_deep = False  # reported once, at the first value too deep, as `first_too_deep` does
        self._too_big = False
        self._built = 0  # nodes built so far: past MAX_VALUES the rest is not worth building

    def origin(self, ynode: Any) -> Origin:
        mark = ynode.start_mark
        return Origin(self.file, mark.line + 1, mark.column + 1)

    def problem(self, ynode: Any, path: Path, message: str) -> None:
        self.pending.append((self.origin(ynode), path, message))

    def problems(self, root: Node) -> list[Problem]:
        """The problems found, their paths named against the finished document."""
        data = to_data(root)
        return [Problem(self.file, o.line, o.col, json_path(p, data), m) for o, p, m in self.pending]

    def build(self, ynode: Any, path: Path) -> Node:
        key = id(ynode)
        if key in self._done:
            return self._done[key]
        if key in self._open:
            self.problem(ynode, path, "a YAML alias refers to a value that contains it")
            return Node(None, self.origin(ynode))
        nests = type(ynode).__name__ != "ScalarNode"
        self._built += 1
        if self._built > MAX_VALUES:  # a value holding this one is too big: it is reported there
            return Node(None, self.origin(ynode))
        if nests and self._depth >= MAX_DEPTH:
            if not self._too_deep:
                self._too_deep = True
                self.problem(ynode, path, TOO_DEEP)
            return Node(None, self.origin(ynode))
        self._open.add(key)
        self._depth += nests
        node = self._build(ynode, path)
        self._depth -= nests
        self._open.discard(key)
        size = 1 + sum(self._size.get(child, 1) for child in _children(node))
        if size > MAX_VALUES:
            if not self._too_big:
                self._too_big = True
                self.problem(ynode, path, TOO_BIG)
            node, size = Node(None, self.origin(ynode)), 1
        self._size[node] = size
        self._done[key] = node
        return node

    def _build(self, ynode: Any, path: Path) -> Node:
        tag = str(ynode.tag)
        if tag not in (IMPLICIT, "!"):
            shown = "!!" + tag.removeprefix(TAG) if tag.startswith(TAG) else tag
            self.problem(ynode, path, f"YAML tag {shown} is not supported; quote the value instead")
        kind = type(ynode).__name__
        if kind == "ScalarNode":
            text: str = ynode.value
            if ynode.style == '"' and ESCAPED_ONLY.search(text):
                self.problem(ynode, path, escape_message(text))
            if ynode.style:  # quoted or block: always a string
                return Node(text, self.origin(ynode))
            value = resolve_plain(text)
            return Node(value, self.origin(ynode), None if isinstance(value, str) else text)
        if kind == "SequenceNode":
            return Node(
                [self.build(item, (*path, i)) for i, item in enumerate(ynode.value)], self.origin(ynode)
            )
        return self._mapping(ynode, path)

    def _mapping(self, ynode: Any, path: Path) -> Node:
        items: dict[str, Node] = {}
        keys: dict[str, Origin] = {}
        for knode, vnode in ynode.value:
            if type(knode).__name__ != "ScalarNode":
                self.problem(knode, path, "a key must be a plain text, not a list or a mapping")
                continue
            name: str = knode.value
            if knode.style == '"' and ESCAPED_ONLY.search(name):
                self.problem(knode, path, escape_message(name))
                continue
            if str(knode.tag) == TAG + "merge" or (name == "<<" and not knode.style):
                self.problem(knode, path, "YAML merge keys (<<) are not supported; use extends")
                continue
            child_path = (*path, name)
            if name in keys:
                first = keys[name]
                self.problem(
                    knode, child_path, f"duplicate key {name!r} (first written at {first.line}:{first.col})"
                )
                continue
            keys[name] = self.origin(knode)
            value = self.build(vnode, child_path)
            if value.value is None and value.text == "":
                # An empty value has no text to point at, and the parsers place it differently: use its key.
                value = Node(None, keys[name], "")
            items[name] = value
        return Node(items, self.origin(ynode), keys=keys)


def read_yaml(
    text: str, file: str, *, fast: bool = True, spec: bool = True
) -> tuple[Node | None, list[Problem]]:
    """Parse one YAML document; None and the problems when it is not YAML at all.

    `spec` says the document must be a mapping (a job spec) rather than any value (a `--set` value).
    """
    # Reading makes one object per value and no cycles the collector could free (an alias that contains
    # itself is refused): its passes over a large document would cost several times the reading itself.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _read_yaml(text, file, fast=fast, spec=spec)
    finally:
        if paused:
            gc.enable()


def _read_yaml(text: str, file: str, *, fast: bool, spec: bool) -> tuple[Node | None, list[Problem]]:
    ynode: Any = None
    parsed = False
    if len(text) > REFERENCE_MAX_CHARS and has_fast_parser():
        return _read_large(text, file, spec)
    if fast and not _REFERENCE_ONLY.search(text):
        try:
            ynode = compose_fast(text)
            # A spec that is not a mapping is wrong anyway: its message comes from the reference parser.
            parsed = not spec or type(ynode).__name__ == "MappingNode"
        except Exception as err:  # any refusal is settled by the reference parser below, which reports it
            if "maximum nesting depth" in str(err):  # deeper than 1000: too deep for ruamel.yaml as well
                return None, [first_too_deep(text, file)]
            parsed = False
    if not parsed:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        try:
            ynode = compose_reference(text)
        except MarkedYAMLError as err:
            return None, [syntax_problem(file, err, text)]
        except RecursionError:
            # ruamel.yaml composes by recursion, libyaml (in C) does not and nests up to 1000 levels: a
            # document it reads gets the builder's own depth problem, as on the fast path.
            ynode = compose_deep(text)
            if ynode is None:
                return None, [first_too_deep(text, file)]
        except YAMLError as err:  # errors without a mark, such as a character YAML refuses
            return None, [unmarked_problem(text, file, err)]
    if ynode is None or (type(ynode).__name__ == "ScalarNode" and ynode.value == "" and not ynode.style):
        return None, [Problem(file, 1, 1, "$", "the file is empty; a job spec is a YAML mapping")]
    builder = _Builder(file)
    node = builder.build(ynode, ())
    return node, builder.problems(node)


def _read_large(text: str, file: str, spec: bool) -> tuple[Node | None, list[Problem]]:
    """A large document read by libyaml alone, its syntax errors as libyaml marks them."""
    import yaml

    try:
        ynode = compose_fast(text)
    except yaml.MarkedYAMLError as err:
        if "maximum nesting depth" in str(err):
            return None, [Problem(file, 1, 1, "$", TOO_DEEP)]
        return None, [syntax_problem(file, err, text)]
    except yaml.YAMLError as err:
        return None, [unmarked_problem(text, file, err)]
    if ynode is None:
        return None, [Problem(file, 1, 1, "$", "the file is empty; a job spec is a YAML mapping")]
    if spec and type(ynode).__name__ != "MappingNode":
        return None, [Problem(file, 1, 1, "$", "a job spec is a YAML mapping")]
    builder = _Builder(file)
    node = builder.build(ynode, ())
    return node, builder.problems(node)
