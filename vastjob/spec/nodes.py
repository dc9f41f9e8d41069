"""The document tree a spec is read into: values that remember the file, line and column they came from."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool | None
Path = tuple[str | int, ...]


@dataclass(slots=True)
class Origin:
    """Where a value was written: a file position, or a --set argument (line 0). Treated as immutable."""

    file: str
    line: int
    col: int
    via_set: str | None = None  # the `--set` argument that wrote the value


@dataclass(eq=False, slots=True)
class Node:
    """One value of a document. Maps keep where each key was written; plain scalars keep their text."""

    value: dict[str, Node] | list[Node] | Scalar
    origin: Origin
    text: str | None = (
        None  # the original text of a plain (unquoted) scalar that YAML did not read as a string
    )
    keys: dict[str, Origin] = field(default_factory=dict)  # for maps: where each key was written

    def child(self, key: str | int) -> Node | None:
        """The child at a map key or a list index, or None."""
        if isinstance(self.value, dict) and isinstance(key, str):
            return self.value.get(key)
        if isinstance(self.value, list) and isinstance(key, int) and 0 <= key < len(self.value):
            return self.value[key]
        return None


def to_data(node: Node) -> Any:
    """The plain Python value of a tree."""
    if isinstance(node.value, dict):
        return {k: to_data(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [to_data(v) for v in node.value]
    return node.value


def walk(node: Node, path: Sequence[str | int]) -> tuple[Node, Origin | None]:
    """The deepest node along `path`, and the key origin of the last map step taken."""
    key_origin: Origin | None = None
    for part in path:
        nxt = node.child(part)
        if nxt is None:
            break
        is_key = isinstance(node.value, dict) and isinstance(part, str)
        key_origin = node.keys.get(part) if is_key and isinstance(part, str) else None
        node = nxt
    return node, key_origin


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def json_path(path: Iterable[str | int], root: Any = None) -> str:
    """`$.a.b[2]` with list items named by their `id` where they have one: `$.steps[precompute].needs`."""
    out = "$"
    here = root
    for part in path:
        if isinstance(part, int):
            item = here[part] if isinstance(here, list) and 0 <= part < len(here) else None
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str) and _PLAIN_KEY.match(ident) and _unique_id(here, ident):
                out += f"[{ident}]"
            else:
                out += f"[{part}]"
            here = item
        else:
            out += f".{part}" if _PLAIN_KEY.match(part) else f"[{json.dumps(part)}]"
            here = here.get(part) if isinstance(here, dict) else None
    return out


def _unique_id(items: Any, ident: str) -> bool:
    return sum(1 for x in items if isinstance(x, dict) and x.get("id") == ident) == 1


def describe(value: Any) -> str:
    """A short text of a value for messages: strings quoted, YAML spellings for the rest."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _suspect(char: str, among_ascii: bool) -> bool:
    """A character a reader cannot see, or one that looks like a Latin letter in a word of Latin letters."""
    if char.isascii():
        return False
    if unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn"):
        return True
    return among_ascii and not unicodedata.name(char, "").startswith("LATIN")


def named(text: str) -> str:
    """A name quoted for a message as `repr` quotes it, with invisible characters and look-alikes (a
    Cyrillic letter in a Latin word) escaped, so that two names that look the same never read the same."""
    among_ascii = any(c.isascii() and c.isalpha() for c in text)
    return "".join(f"\\u{ord(c):04x}" if _suspect(c, among_ascii) else c for c in repr(text))
