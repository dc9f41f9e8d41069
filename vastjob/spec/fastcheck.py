"""A yes/no answer to "is this document valid against the schema?", compiled once into plain closures.

jsonschema explains errors well but is slow at saying "valid" thousands of times; this gate says it several
times faster and jsonschema runs only when the gate says no. It knows just the keywords the job schema uses
and refuses to compile a schema with any other, so it can never silently accept more than jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "title", "description", "examples", "default", "$comment"}
_IGNORED |= {"patternErrorMessage", "markdownDescription", "defaultSnippets"}  # for editors


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    # JSON Schema counts 1.0 as an integer, as jsonschema does.
    "integer": lambda x: _is_number(x) and (isinstance(x, int) or x.is_integer()),
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "null": lambda x: x is None,
}


def equal(a: Any, b: Any) -> bool:
    """JSON equality: true and 1 differ, 1 and 1.0 do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return False
    return bool(a == b)


class Unsupported(Exception):
    """The schema uses a keyword this gate does not know; callers then use jsonschema alone."""


def _compile(schema: Any) -> Check:
    if schema is True:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    checks: list[Check] = []
    for key, value in schema.items():
        if key in _IGNORED:
            continue
        maker = _KEYWORDS.get(key)
        if maker is None:
            if key in ("then", "else"):
                continue  # compiled together with "if"
            raise Unsupported(key)
        checks.append(maker(value, schema))
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(check(x) for check in checks)


def _type(value: Any, _: dict[str, Any]) -> Check:
    tests = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
    return lambda x: any(t(x) for t in tests)


def _properties(value: dict[str, Any], schema: dict[str, Any]) -> Check:
    props = {k: _compile(v) for k, v in value.items()}
    extra = schema.get("additionalProperties", True)
    extra_check = _compile(extra)

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for k, v in x.items():
            sub = props.get(k)
            if not (sub(v) if sub is not None else extra_check(v)):
                return False
        return True

    return check


def _additional(value: Any, schema: dict[str, Any]) -> Check:
    if "properties" in schema:
        return lambda x: True  # checked with the properties
    sub = _compile(value)
    return lambda x: not isinstance(x, dict) or all(sub(v) for v in x.values())


def _required(value: list[str], _: dict[str, Any]) -> Check:
    return lambda x: not isinstance(x, dict) or all(k in x for k in value)


def _property_names(value: Any, _: dict[str, Any]) -> Check:
    sub = _compile(value)
    return lambda x: not isinstance(x, dict) or all(sub(k) for k in x)


def _items(value: Any, _: dict[str, Any]) -> Check:
    sub = _compile(value)
    return lambda x: not isinstance(x, list) or all(sub(v) for v in x)


def _unique(value: bool, _: dict[str, Any]) -> Check:
    if not value:
        return lambda x: True
    return lambda x: (
        not isinstance(x, list) or not any(equal(a, b) for i, a in enumerate(x) for b in x[i + 1 :])
    )


def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema `pattern` compiled with ECMA-262's meaning of `$`: the end of the text. Python's `$` also
    matches before a final newline, which would let `sha256: |` block text or a name ending in a newline
    pass the schema and break the script on the rented machine."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _pattern(value: str, _: dict[str, Any]) -> Check:
    regex = ecma_pattern(value)
    return lambda x: not isinstance(x, str) or regex.search(x) is not None


def _enum(value: list[Any], _: dict[str, Any]) -> Check:
    return lambda x: any(equal(x, e) for e in value)


def _const(value: Any, _: dict[str, Any]) -> Check:
    return lambda x: equal(x, value)


def _bound(test: Callable[[Any, Any], bool]) -> Callable[[Any, dict[str, Any]], Check]:
    def make(value: Any, _: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or test(x, value)

    return make


Maker = Callable[[Any, dict[str, Any]], Check]


def _length(test: Callable[[int, int], bool], kind: type[str | list[Any]]) -> Maker:
    def make(value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, kind) or test(len(x), value)

    return make


def _if(value: Any, schema: dict[str, Any]) -> Check:
    cond = _compile(value)
    then, other = _compile(schema.get("then", True)), _compile(schema.get("else", True))
    return lambda x: then(x) if cond(x) else other(x)


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], Check]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "propertyNames": _property_names,
    "items": _items,
    "uniqueItems": _unique,
    "pattern": _pattern,
    "enum": _enum,
    "const": _const,
    "minimum": _bound(lambda x, v: x >= v),
    "maximum": _bound(lambda x, v: x <= v),
    "exclusiveMinimum": _bound(lambda x, v: x > v),
    "exclusiveMaximum": _bound(lambda x, v: x < v),
    "minLength": _length(lambda n, v: n >= v, str),
    "maxLength": _length(lambda n, v: n <= v, str),
    "minItems": _length(lambda n, v: n >= v, list),
    "maxItems": _length(lambda n, v: n <= v, list),
    "if": _if,
}


def compile_gate(schema: dict[str, Any]) -> Check | None:
    """A fast validity check for a schema without `$ref`s, or None when it uses a keyword not known here."""
    try:
        return _compile(schema)
    except Unsupported:
        return None
