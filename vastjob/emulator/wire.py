"""What an endpoint receives and answers, in the API's shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One parsed API request; `instance_id` is set when a container key made it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    match: re.Match[str]
    instance_id: int | None = None


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: its method, its path as sent (query included), headers, raw body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What to answer: a status, a JSON (or text) body, extra headers; `drop` closes without answering."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def error(status: int, code: str, msg: str, **extra: Any) -> Reply:
    """The API's error shape."""
    return Reply(status, {"success": False, "error": code, "msg": msg, **extra})


def ok(**fields: Any) -> Reply:
    """A plain success answer."""
    return Reply(200, {"success": True, **fields})
