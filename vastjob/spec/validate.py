"""Checking a resolved document: YAML's surprises, the schema, then the rules; every problem, located."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from typing import Any

from vastjob.errors import Problem
from vastjob.spec.durations import MAX_DURATION_TEXT, duration_seconds
from vastjob.spec.limits import LIMIT_RULES
from vastjob.spec.nodes import Node, Origin, Path, describe, json_path, named, walk
from vastjob.spec.rules import Finding, check_rules
from vastjob.spec.schema import DURATION_PATTERN, StringSlots, gate, load_schema, string_slots, validator

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"}


def _pattern_help(schema: dict[str, Any]) -> str:
    """The schema's words for a value its pattern refuses, said of the value: `"x" is not ...`."""
    words = schema.get("patternErrorMessage")
    if isinstance(words, str) and words.startswith("Not "):
        return "is not " + words.removeprefix("Not ")
    return f"does not match {schema.get('pattern')}"


def coerce(node: Node, slots: StringSlots | None, path: Path, out: list[Finding]) -> Any:
    """Plain data, where an unquoted number in a string field becomes its text as written.

    `true`/`false`/null there are refused instead: bash would see a different text from what was meant.
    A whole number written as a float (`1e6`, `2.0`) where the schema wants an integer becomes that integer,
    and `.inf`, `.nan` (or a number too large for a float) are refused anywhere: a price cap of infinity
    or NaN would let every offer through.
    """
    if isinstance(node.value, dict):
        return {k: coerce(v, slots.at(k) if slots else None, (*path, k), out) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [coerce(v, slots.at(i) if slots else None, (*path, i), out) for i, v in enumerate(node.value)]
    value = node.value
    if slots is not None and slots.here and not isinstance(value, str) and node.text is not None:
        if not node.text:
            out.append(Finding(path, 'an empty value is YAML\'s null, not text; write "" for an empty text'))
        elif isinstance(value, bool) or value is None:
            what = "a YAML boolean" if value is not None else "YAML's null"
            quoted = f'"{node.text}"'
            message = f"{node.text} is {what}, not text; write {quoted} (quoted) to mean text"
            out.append(Finding(path, message))
        return node.text
    if isinstance(value, float):
        if not math.isfinite(value):
            what = "not a number" if math.isnan(value) else "infinite"
            shown = node.text if node.text and len(node.text) <= 60 else describe(node.text or value)
            out.append(Finding(path, f"{shown} is {what}; write a finite number"))
        elif slots is not None and slots.whole and value.is_integer():
            return int(value)
    return value


def _misspelt(name: str, inst: dict[str, Any], known: Any) -> bool:
    """Whether an unknown key looks like `name`: then it is reported once, as that key with a did-you-mean."""
    unknown = [k for k in inst if k not in known]
    return bool(difflib.get_close_matches(name, unknown, n=1, cutoff=0.6))


def _error_findings(err: Any) -> Iterator[Finding]:
    """One schema error as findings, with messages for people rather than for schema authors."""
    path: Path = tuple(err.absolute_path)
    kind, value, inst = err.validator, err.validator_value, err.instance
    in_key = "propertyNames" in err.absolute_schema_path
    if in_key:
        path = (*path, inst)
    if kind in ("anyOf", "oneOf") and err.context:
        from jsonschema.exceptions import best_match

        best = best_match(err.context)
        others = len(err.context) - 1
        more = f" ({others} other error{'s' if others != 1 else ''} in the alternatives)" if others else ""
        yield from (Finding(f.path, f.message + more, f.at_key) for f in _error_findings(best))
    elif kind == "additionalProperties" and isinstance(inst, dict):
        allowed = list(err.schema.get("properties", {}))
        for extra in inst:
            if extra in allowed:
                continue
            close = difflib.get_close_matches(extra, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {named(close[0])}?" if close else f" (allowed: {', '.join(allowed)})"
            yield Finding((*path, extra), f"unknown key {named(extra)}{hint}", at_key=True)
    elif kind == "required" and isinstance(inst, dict):
        known = err.schema.get("properties") or (load_schema()["properties"] if not path else {})
        for name in value:
            if name not in inst and not _misspelt(name, inst, known):
                yield Finding(path, f"missing required key {name!r}", at_key=True)
    elif kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        if err.schema.get("pattern") == DURATION_PATTERN:
            yield Finding(path, f"{describe(inst)} {_pattern_help(err.schema)}")
            return
        if "string" in types and set(types) <= {"string", "number", "null"}:  # a number is kept as text
            expected = _TYPE_NAMES["string"]
        hint = ""
        if "boolean" in types and isinstance(inst, str) and inst in _YAML11_BOOLS:
            hint = " (YAML 1.2 reads yes/no/on/off as text; write true or false)"
        yield Finding(path, f"expected {expected}, got {describe(inst)}{hint}")
    elif kind == "pattern" and value == DURATION_PATTERN and duration_seconds(str(inst)) == 0:
        # The rule's own words, so that the two findings are one.
        yield Finding(path, f"{describe(inst)} is zero; a duration must be longer than that")
    elif kind == "pattern":
        help_text = _pattern_help(err.schema)
        yield Finding(path, f"{'key ' if in_key else ''}{describe(inst)} {help_text}", at_key=in_key)
    elif kind == "enum":
        choices = [str(c) for c in value]
        close = (
            difflib.get_close_matches(str(inst), choices, n=1, cutoff=0.6) if isinstance(inst, str) else []
        )
        hint = f"; did you mean {named(close[0])}?" if close else ""
        yield Finding(path, f"{describe(inst)} is not one of {', '.join(choices)}{hint}")
    elif kind == "maximum" and err.schema.get("pattern") == DURATION_PATTERN:
        longest = f"{MAX_DURATION_TEXT} ({value} seconds)"
        yield Finding(path, f"{describe(inst)} seconds is longer than {longest}, the longest allowed")
    elif kind == "const":
        yield Finding(path, f"must be {describe(value)}, got {describe(inst)}")
    elif kind == "uniqueItems" and isinstance(inst, list):
        dup = next((x for i, x in enumerate(inst) if x in inst[:i]), None)
        yield Finding(path, f"{describe(dup)} is listed more than once")
    elif kind == "maxLength":
        yield Finding(path, f"{describe(inst)} is longer than {value} characters")
    elif kind == "minLength":
        yield Finding(path, "must not be empty")
    else:
        yield Finding(path, err.message)


def _locate(root: Node, finding: Finding, file: str, extends_at: Origin | None, path: str) -> Problem:
    """The finding placed in the spec's own file; a value from a parent or --set says where it came from."""
    node, key_origin = walk(root, finding.path)
    origin = key_origin if finding.at_key and key_origin is not None else node.origin
    message = finding.message
    if origin.via_set is not None:
        return Problem(file, 0, 0, path, f"{message} (from --set {origin.via_set})")
    if origin.file != file and extends_at is not None:
        message += f" (from {origin.file}:{origin.line}:{origin.col})"
        origin = extends_at
    return Problem(origin.file, origin.line, origin.col, path, message)


def _at_parent(root: Node, finding: Finding, file: str, path: str) -> Problem | None:
    """The finding at the line of the parent file that wrote the value, or None when this file wrote it."""
    node, key_origin = walk(root, finding.path)
    origin = key_origin if finding.at_key and key_origin is not None else node.origin
    if origin.via_set is not None or origin.file == file:
        return None
    return Problem(origin.file, origin.line, origin.col, path, finding.message)


def check_document(
    root: Node,
    file: str,
    extends_at: Origin | None,
    *,
    base: bool = False,
    warnings: list[Problem] | None = None,
    inherited: dict[Problem, Problem] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """The plain document and every problem in it, in source order; warnings (a spec that is valid but
    looks wrong) are added to `warnings` when given, and never for a base, which is not a whole job.
    `inherited` gets, for each problem in a value a parent wrote, the same problem at the parent's line."""
    findings: list[Finding] = []
    doc = coerce(root, string_slots(), (), findings)
    refused = {f.path for f in findings}  # already explained: the schema's view of them would only repeat it
    if not isinstance(doc, dict):
        problem = Problem(
            file, root.origin.line, root.origin.col, "$", f"a job spec is a YAML mapping, not {describe(doc)}"
        )
        return {}, [problem]
    check = gate(base)
    if check is None or not check(doc):  # jsonschema runs only to explain what is wrong
        for err in validator(base).iter_errors(doc):
            findings.extend(f for f in _error_findings(err) if f.path not in refused)
    # `name` is required of a job but not of a base, which the one schema cannot tell apart.
    if not base and "name" not in doc and not _misspelt("name", doc, load_schema()["properties"]):
        findings.append(Finding((), "missing required key 'name'", at_key=True))
    findings.extend(check_rules(doc))
    findings.extend(finding for rule in LIMIT_RULES for finding in rule(doc))
    problems: list[Problem] = []
    for finding in dict.fromkeys(findings):
        if finding.warning and (base or warnings is None):
            continue
        path = json_path(finding.path, doc)
        problem = _locate(root, finding, file, extends_at, path)
        (warnings if finding.warning and warnings is not None else problems).append(problem)
        parent = _at_parent(root, finding, file, path) if inherited is not None else None
        if parent is not None and inherited is not None:
            inherited[problem] = parent
    if warnings is not None:
        warnings[:] = sort_problems(warnings, file)
    return doc, sort_problems(problems, file)


def sort_problems(problems: list[Problem], file: str) -> list[Problem]:
    """Source order: the spec's own file first, then by line, column and path."""
    return sorted(problems, key=lambda p: (p.file != file, p.file, p.line, p.col, p.path, p.message))
