"""What an answer of the Vast API means, decided in one place: the documented shape, or an error.

Money is decided on these answers (is there an instance, what does it cost), so an answer that is not the
documented JSON (a redirect, a maintenance page, a body cut short, an object without the field the decision
needs, a field of the wrong type) is a `BadAnswer`, never read as "nothing" or as a default.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from vastjob.errors import ApiError


class BadAnswer(ApiError):
    """An answer that is not in the documented shape: what it says is unknown."""


class AnswerLost(ApiError):
    """A request was sent but its answer never came (or could not be read): it may or may not have taken
    effect."""


class ContractBesideError(ApiError):
    """A create answered an error and yet named an instance (`new_contract`): that instance may bill."""

    def __init__(self, message: str, *, contract: int, **kw: str | int | None) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.contract = contract


def json_object(resp: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a success answer (below 400); anything else is a BadAnswer saying what came."""
    status = resp.status_code
    if 300 <= status < 400:
        where = resp.headers.get("Location")
        to = f" to {where.split('?')[0]}" if where else ""
        raise BadAnswer(
            f"{what} answered {status} (a redirect{to}) instead of the API's JSON",
            status=status,
            error="bad_answer",
            msg=f"redirect {status}",
        )
    text = resp.text
    kind = _kind(resp, text)
    if kind is None:
        data = json.loads(text)
        if isinstance(data, dict):
            return data
        kind = f"JSON {type(data).__name__} where an object was due"
    raise BadAnswer(
        f"{what} answered {status} with {kind} instead of the API's JSON",
        status=status,
        error="bad_answer",
        msg=kind,
    )


def _kind(resp: httpx.Response, text: str) -> str | None:
    """What a body is when it is not JSON; None when it parses."""
    if not text.strip():
        return "an empty body"
    try:
        json.loads(text)
    except ValueError:
        head = text.lstrip()[:200].lower()
        if head.startswith(("<!doctype html", "<html")) or "html" in resp.headers.get("Content-Type", ""):
            return "an HTML page"
        if head.startswith(("{", "[")):
            return f"JSON cut short ({len(text)} bytes)"
        return "text that is not JSON"
    return None


def require(body: dict[str, Any], key: str, kinds: tuple[type, ...], what: str) -> Any:
    """`body[key]`, which must be there and of one of `kinds` (a bool never counts as a number)."""
    if key not in body:
        raise BadAnswer(f"{what} answered without `{key}`", error="bad_answer", msg=f"no {key}")
    value = body[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise BadAnswer(
            f"{what} answered `{key}` as {type(value).__name__}, not {names}",
            error="bad_answer",
            msg=f"bad {key}",
        )
    return value


def rows(body: dict[str, Any], key: str, what: str) -> list[dict[str, Any]]:
    """A list of objects with integer ids under `key` (the offers, the instances of a page)."""
    found = require(body, key, (list,), what)
    for row in found:
        if not isinstance(row, dict) or not _is_id(row.get("id")):
            raise BadAnswer(
                f"{what} answered a `{key}` entry without an integer id",
                error="bad_answer",
                msg=f"bad {key} entry",
            )
    return list(found)


def shown(body: dict[str, Any], instance_id: int, what: str) -> dict[str, Any] | None:
    """The one instance of a show answer, None when it is destroyed (`{"instances": null}`)."""
    inst: dict[str, Any] | None = require(body, "instances", (dict, type(None)), what)
    if inst is not None and inst.get("id") not in (None, instance_id):
        raise BadAnswer(
            f"{what} answered instance {inst.get('id')!r}, not {instance_id}",
            error="bad_answer",
            msg="another instance",
        )
    return inst


def contract(body: dict[str, Any]) -> int | None:
    """The instance id a create answer carries, if it carries one."""
    value = body.get("new_contract")
    return value if _is_id(value) else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def done(body: dict[str, Any], what: str) -> None:
    """A change answered 2xx may still say it did not happen (`"success": false`)."""
    if body.get("success") is False:
        error, msg = _opt(body.get("error")), _opt(body.get("msg"))
        raise ApiError(f"{what} was refused: {error or ''} {msg or ''}".strip(), error=error, msg=msg)


def error_body(resp: httpx.Response) -> dict[str, Any]:
    """An error answer's JSON object, or {} (an error's body is read only for what it names)."""
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def next_token(body: dict[str, Any], seen: set[str]) -> str | None:
    """The v1 list's token of its next page (None: the last page), added to `seen`; BadAnswer for a token
    sent before, since pages that never end are no listing to decide on."""
    token = (
        require(body, "next_token", (str, type(None)), "the instance list") if "next_token" in body else None
    )
    if token and token in seen:
        raise BadAnswer(
            "the instance list sent the same next_token twice: its pages never end",
            error="bad_answer",
            msg="endless pages",
        )
    if token:
        seen.add(token)
    return token
