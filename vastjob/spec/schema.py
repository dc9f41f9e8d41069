"""The job schema as data: loaded once from the package, compiled once, and read for where strings belong."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

# A nonzero digit somewhere: zero is no duration (so that editors flag `0s` too).
DURATION_PATTERN = "^(?=.*[1-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$"


@cache
def schema_text() -> str:
    """The schema file's text, as shipped in the package."""
    return resources.files("vastjob").joinpath("schemas/job.schema.json").read_text(encoding="utf-8")


@cache
def load_schema() -> dict[str, Any]:
    """The job schema (JSON Schema 2020-12). Callers must not change it."""
    data: dict[str, Any] = json.loads(schema_text())
    return data


# Keys that only document the schema: dropped from the copy that validates, where they only cost time.
_ANNOTATIONS = {"$defs", "description", "examples", "default", "title"}
_ANNOTATIONS |= {"markdownDescription", "defaultSnippets"}  # patternErrorMessage stays: messages use it


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `$ref` replaced by its definition and no annotations: the same meaning,
    validated much faster (resolving references dominates jsonschema's time on small documents)."""
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref.removeprefix("#/$defs/")]), **inline(rest)}
            out = {k: inline(v) for k, v in node.items() if k not in _ANNOTATIONS and k != "properties"}
            if isinstance(node.get("properties"), dict):  # field names, not keywords: all kept
                out["properties"] = {k: inline(v) for k, v in node["properties"].items()}
            return out
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return copy.deepcopy(inlined)


@cache
def validation_schema(base: bool = False) -> dict[str, Any]:
    """The schema the loader validates with: references inlined; for a base, no required top-level keys.

    The schema requires them only of a file without `extends`, so that editors accept partial specs; the
    loader checks the merged document, which has no `extends` left, so for a job they are always required.
    """
    schema = _inline_refs(load_schema())
    whole = schema.pop("else", {})
    for key in ("if", "then"):
        schema.pop(key, None)
    if not base:  # a job: what the schema asks only of a file without extends, asked always
        schema["required"] = whole.get("required", [])
        for pattern, extra in whole.get("patternProperties", {}).items():
            _merge_into(schema["properties"][pattern.strip("^$")], extra)
    return schema


def _merge_into(target: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add `extra`'s keywords to `target`, map into map (the `required` of a block joins its properties)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


@cache
def gate(base: bool = False) -> Callable[[Any], bool] | None:
    """The fast yes/no check for the validation schema (None if it cannot be compiled)."""
    from vastjob.spec.fastcheck import compile_gate

    return compile_gate(validation_schema(base))


@cache
def validator(base: bool = False) -> Any:
    """A compiled jsonschema validator, reused for every file, that explains what is wrong."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    from vastjob.spec.fastcheck import ecma_pattern

    def pattern(_v: Any, value: str, instance: Any, _schema: Any) -> Any:
        if isinstance(instance, str) and not ecma_pattern(value).search(instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    # The same `$` as the fast gate (and as editors, which use ECMA-262 regular expressions).
    cls = validators.extend(Draft202012Validator, {"pattern": pattern})
    return cls(validation_schema(base))


@dataclass
class StringSlots:
    """Where the schema wants a string (unquoted numbers written there keep the text as written) or a whole
    number (`1e6` or `2.0` written there becomes the integer it is)."""

    here: bool = False
    whole: bool = False
    props: dict[str, StringSlots] = field(default_factory=dict)
    extra: StringSlots | None = None  # additionalProperties
    items: StringSlots | None = None

    def at(self, key: str | int) -> StringSlots | None:
        """The slots below one map key or list index."""
        if isinstance(key, int):
            return self.items
        return self.props.get(key, self.extra)


def _slots(schema: Any, defs: dict[str, Any], seen: dict[str, StringSlots]) -> StringSlots:
    if not isinstance(schema, dict):
        return StringSlots()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name not in seen:
            seen[name] = StringSlots()  # a placeholder first, so a recursive definition ends
            target = _slots(defs[name], defs, seen)
            seen[name].__dict__.update(target.__dict__)
        return seen[name]
    raw = schema.get("type")
    types: list[Any] = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    const = schema.get("const")
    whole = ("integer" in types and "number" not in types) or (type(const) is int)
    # ["string", "number"] is text where an unquoted number is kept as written (what editors must accept;
    # "null" beside them is a removal in a spec that extends another).
    text = "string" in types and set(types) <= {"string", "number", "null"}
    out = StringSlots(here=text, whole=whole)
    for name, sub in schema.get("properties", {}).items():
        out.props[name] = _slots(sub, defs, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        out.extra = _slots(schema["additionalProperties"], defs, seen)
    if isinstance(schema.get("items"), dict):
        out.items = _slots(schema["items"], defs, seen)
    return out


@cache
def string_slots() -> StringSlots:
    """The tree of places where the schema accepts only strings, or only whole numbers."""
    schema = load_schema()
    return _slots(schema, schema.get("$defs", {}), {})
