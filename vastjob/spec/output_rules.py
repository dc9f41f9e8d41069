"""What the schema cannot say about `outputs:` and `logs:`: each destination names a defined remote."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from vastjob.spec.nodes import Path, named


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _remote_problem(dest: Any, remotes: list[str]) -> str | None:
    """Why a destination's remote is not one of `remotes`, or None when it is (or the schema reports it)."""
    if not isinstance(dest, str) or ":" not in dest:
        return None
    remote = dest.split(":", 1)[0]
    if remote in remotes:
        return None
    close = difflib.get_close_matches(remote, remotes, n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {named(close[0])}?"
    elif remotes:
        hint = f"; add it under remotes (known: {', '.join(remotes)})"
    else:
        hint = "; add it under remotes"
    return f"remote {named(remote)} is not defined{hint}"


def destinations(doc: dict[str, Any]) -> Iterator[Any]:
    """A finding (from vastjob.spec.rules) for each output or logs destination with an unknown remote."""
    from vastjob.spec.rules import Finding

    remotes = list(_dict(doc.get("remotes")))
    places: list[tuple[Path, Any]] = [
        (("outputs", name, "to"), _dict(out).get("to")) for name, out in _dict(doc.get("outputs")).items()
    ]
    if "logs" in doc:
        places.append((("logs",), doc.get("logs")))
    for path, dest in places:
        problem = _remote_problem(dest, remotes)
        if problem:
            yield Finding(path, problem)
