"""Reading the Vast API's answers: JSON bodies, error fields, quota reset times, and failures in words."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from vastjob.text import format_duration


def opt_str(value: object) -> str | None:
    """`str(value)`, keeping None as None."""
    return None if value is None else str(value)


def error_fields(resp: httpx.Response) -> tuple[str | None, str | None]:
    """`error` and `msg` from the shapes Vast answers with: JSON error/msg, JSON detail, plain text."""
    try:
        data = resp.json()
    except ValueError:
        text = resp.text.strip()
        return (("rate_limit_exceeded" if resp.status_code == 429 else None), text[:300] or None)
    if not isinstance(data, dict):
        return None, str(data)[:300]
    error = opt_str(data.get("error"))
    msg = opt_str(data.get("msg") or data.get("detail") or data.get("message"))
    if error is None and resp.status_code == 429:
        error = "rate_limit_exceeded"
    return error, msg


def reset_text(header: str | None) -> str:
    """When the daily search quota resets, from the `X-RateLimit-Reset` header (a Unix time)."""
    try:
        reset = datetime.fromtimestamp(float(header or ""), tz=UTC)
    except ValueError:
        return "it resets within a day (no reset time given)"
    left = max(0, int((reset - datetime.now(tz=UTC)).total_seconds()))
    return f"it resets at {reset:%Y-%m-%d %H:%M:%S} UTC (in {format_duration(left - left % 60)})"


def transport_problem(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    """A failure with no answer, in words: refused, no answer to connect or to the request, or dropped."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer to connect within {timeout.connect:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout.read:g} s"
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc).split("] ", 1)[-1] or "connection failed"
        return f"cannot connect ({reason})"
    return f"the connection failed ({type(exc).__name__})"
