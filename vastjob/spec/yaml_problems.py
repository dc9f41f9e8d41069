"""Problems found while reading YAML, each placed at a line and column with a message that says what to do.

Kept apart from the reader so that it stays about turning text into nodes; these are the rare paths.
"""

from __future__ import annotations

import re

from vastjob.errors import Problem

# Maps and lists inside each other: a job spec needs about six levels. The limit keeps every recursive step
# after reading (merging, validation, hashing) far from Python's recursion limit.
MAX_DEPTH = 64
TOO_DEEP = f"maps and lists are nested more than {MAX_DEPTH} levels deep; a job spec needs only a few"
# Values in a document, each use of a YAML alias counting again: a job spec has a few hundred.
MAX_VALUES = 100_000
TOO_BIG = f"holds more than {MAX_VALUES} values (each use of a YAML alias counts); a job spec needs far fewer"
# Only a double-quoted escape can produce these: halves of UTF-16 pairs, which UTF-8 cannot encode, and NUL,
# which no bash script or variable can hold (bash refuses to run a script containing one, trap and all).
_SURROGATE = re.compile("[\ud800-\udfff]")
ESCAPED_ONLY = re.compile("[\ud800-\udfff\x00]")
_NUL_MESSAGE = "contains a NUL character (an escape such as \\0), which no bash script can hold; remove it"


def escape_message(text: str) -> str:
    """Why a text with a `\\0` or `\\uD83D` escape is refused, and what to write instead."""
    if "\x00" in text:
        return _NUL_MESSAGE
    pair = re.search("[\ud800-\udbff][\udc00-\udfff]", text)
    if pair:
        char = pair.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        fix = f"write \\U{ord(char):08X} or the character itself"
    else:
        fix = "write the character itself or its \\U escape"
    half = next(c for c in text if _SURROGATE.match(c))
    return f"the escape \\u{ord(half):04X} is half of a UTF-16 pair, not a character; {fix}"


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def first_too_deep(text: str, file: str) -> Problem:
    """Where a document too deep for the reference parser's recursion nests too deeply, found by its
    events (which need no recursion): the same place and message the node builder gives."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    from vastjob.spec.tabs import tab_scanner

    depth = 0
    parser = YAML(typ="safe", pure=True)
    parser.Scanner = tab_scanner()  # tabs read as the reference parser reads them
    try:
        for event in parser.parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return Problem(file, mark.line + 1, mark.column + 1, "$", TOO_DEEP)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except MarkedYAMLError as err:
        return syntax_problem(file, err, text)
    return Problem(file, 1, 1, "$", TOO_DEEP)


def unmarked_problem(text: str, file: str, err: Exception) -> Problem:
    """A reader error (a character YAML does not allow), placed by its index in the text."""
    position, character = getattr(err, "position", None), getattr(err, "character", None)
    if isinstance(position, int) and isinstance(character, int):
        line, col = _position(text, position)
        message = f"the character U+{character:04X} is not allowed in YAML text; remove it"
        return Problem(file, line, col, "$", message + " (or write it as an escape inside double quotes)")
    return Problem(file, 0, 0, "$", f"YAML error: {str(err).splitlines()[0]}")


def _char_at(text: str | None, line: int, col: int) -> str:
    """The character at a 1-based line and column of `text`, or "" when unknown."""
    if text is None or line < 1:
        return ""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    index = start + col - 1
    return text[index] if index < len(text) else ""


def _hint(problem: str, context: str, at_problem: str) -> tuple[str, bool] | None:
    """Plain words for the common mistakes, and whether they belong at the opening (context) mark."""
    if "quoted scalar" in context:
        return "this quote is never closed (or a quote inside it is not escaped)", True
    if "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        return f"this {bracket} is never closed, or an item in it is missing a comma", True
    if "mapping values are not allowed" in problem:
        return "a plain value cannot hold ': ' (as in key: value: more); quote the value", False
    if at_problem == "\t" or "'\\t'" in problem or "tab character" in problem:
        return "tabs cannot indent YAML; indent with spaces", False
    return None


def syntax_problem(file: str, err: Exception, text: str | None = None) -> Problem:
    """A YAML syntax error in plain words where it is a common one, placed where the mistake is: a quote or
    a bracket that is never closed at its opening, anything else where the parser stopped."""
    problem_mark, context_mark = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
    mark = problem_mark or context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None) or ""
    hint = _hint(problem, context, _char_at(text, line, col))
    if hint is not None:
        words, at_opening = hint
        if at_opening and context_mark is not None:
            stopped = f" (the parser stopped at {line}:{col}: {problem})"
            line, col = context_mark.line + 1, context_mark.column + 1
            return Problem(file, line, col, "$", f"YAML syntax error: {words}{stopped}")
        return Problem(file, line, col, "$", f"YAML syntax error: {words}")
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Problem(file, line, col, "$", message)
