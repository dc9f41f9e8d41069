"""Combining documents: a child spec over its parent (`extends`), then `--set path=value` overrides."""

from __future__ import annotations

from collections.abc import Sequence

from vastjob.spec.nodes import Node, Origin, describe
from vastjob.spec.reader import read_yaml
from vastjob.spec.yaml_problems import MAX_DEPTH


def merge(parent: Node, child: Node) -> Node:
    """Child over parent: maps merge key by key, anything else is replaced, and null removes the key."""
    if not (isinstance(parent.value, dict) and isinstance(child.value, dict)):
        return child
    items = dict(parent.value)
    keys = dict(parent.keys)
    for name, value in child.value.items():
        if value.value is None:
            items.pop(name, None)
            keys.pop(name, None)
            continue
        old = items.get(name)
        items[name] = merge(old, value) if old is not None else value
        keys[name] = child.keys[name]
    return Node(items, child.origin, keys=keys)


class OverrideError(Exception):
    """A `--set` argument that cannot be applied; the message says why."""


def _reorigin(node: Node, origin: Origin) -> Node:
    """A copy of a tree whose every value is said to come from `origin` (a --set argument)."""
    if isinstance(node.value, dict):
        return Node(
            {k: _reorigin(v, origin) for k, v in node.value.items()},
            origin,
            keys=dict.fromkeys(node.value, origin),
        )
    if isinstance(node.value, list):
        return Node([_reorigin(v, origin) for v in node.value], origin)
    return Node(node.value, origin, node.text)


def parse_override(arg: str, file: str) -> tuple[list[str], Node]:
    """Split `a.b=value` into its path and the value read as YAML (`1` keeps its text, `'x y'` its quotes)."""
    path_text, sep, value_text = arg.partition("=")
    if not sep:
        raise OverrideError("expected PATH=VALUE, such as env.RESET_CACHE=0")
    parts = path_text.strip().split(".")
    if not all(parts):
        raise OverrideError(f"{path_text!r} is not a dotted path such as offer.gpu.count")
    if len(parts) > MAX_DEPTH:
        raise OverrideError(f"the path has {len(parts)} parts; a job spec nests only a few levels deep")
    if parts[0] == "extends":
        # The parent is read before any --set applies: setting it could only be ignored.
        raise OverrideError("extends cannot be set with --set; write it in the file, or run the other spec")
    origin = Origin(file, 0, 0, via_set=arg)
    if not value_text.strip():
        return parts, Node(None, origin, "")
    node, problems = read_yaml(value_text, "--set", spec=False)
    if problems or node is None:
        raise OverrideError(f"the value is not valid YAML: {problems[0].message if problems else 'empty'}")
    return parts, _reorigin(node, origin)


def _step(node: Node, part: str) -> int | None:
    """The list index a path part names: a number, or the `id` of an item (steps.precompute.timeout)."""
    assert isinstance(node.value, list)
    if part.isdigit():
        index = int(part)
        return index if index < len(node.value) else None
    for i, item in enumerate(node.value):
        if (
            isinstance(item.value, dict)
            and (ident := item.value.get("id")) is not None
            and ident.value == part
        ):
            return i
    return None


def _set(node: Node, parts: Sequence[str], value: Node, done: str) -> Node:
    """A copy of `node` with `value` at `parts`; maps on the way are created, nothing else is."""
    head, rest = parts[0], parts[1:]
    if isinstance(node.value, dict) and head not in node.value:
        # A key with dots in it (a dataset named `pdebench.v1`) is matched when it exists.
        for n in range(len(parts), 1, -1):
            if ".".join(parts[:n]) in node.value:
                head, rest = ".".join(parts[:n]), parts[n:]
                break
    here = f"{done}.{head}"
    if isinstance(node.value, dict):
        old = node.value.get(head)
        if rest:
            if old is None:
                old = Node({}, value.origin)
            new = _set(old, rest, value, here)
        else:
            new = value
        items, keys = dict(node.value), dict(node.keys)
        if new.value is None and not rest:
            items.pop(head, None)
            keys.pop(head, None)
        else:
            items[head] = new
            keys.setdefault(head, value.origin)
        return Node(items, node.origin, node.text, keys)
    if isinstance(node.value, list):
        index = _step(node, head)
        if index is None:
            raise OverrideError(f"{done} has no item {head!r} (use its index or its id)")
        items_list = list(node.value)
        items_list[index] = _set(items_list[index], rest, value, here) if rest else value
        return Node(items_list, node.origin, node.text)
    raise OverrideError(f"{done} is {describe(node.value)}, so it has no field {head!r}")


def apply_override(root: Node, parts: Sequence[str], value: Node) -> Node:
    """The document with one override applied."""
    return _set(root, parts, value, "$")
