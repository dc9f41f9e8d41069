"""Durations as the spec writes them (`90s`, `1h30m`, `2d`) and the longest one a job may ask for."""

from __future__ import annotations

import re

# The longest duration a job may ask for: a month. It keeps every bound far inside bash's 64-bit
# arithmetic (2**64 seconds reads as 0 there, which would switch the watchdog off).
MAX_DURATION_S = 30 * 86400
MAX_DURATION_TEXT = "30d"
_DURATION = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$")
_UNIT_S = (86400, 3600, 60, 1)


def duration_seconds(text: str) -> int | None:
    """The seconds a duration text means, capped at just over `MAX_DURATION_S` (so that a text of
    thousands of digits costs nothing); None when it is not a duration."""
    match = _DURATION.match(text)
    if not text or match is None:
        return None
    total = 0
    for digits, unit in zip(match.groups(), _UNIT_S, strict=True):
        if digits:
            digits = digits.lstrip("0") or "0"
            if len(digits) > 12:  # more than any bound: no need to make the number
                return MAX_DURATION_S + 1
            total += int(digits) * unit
    return min(total, MAX_DURATION_S + 1)
