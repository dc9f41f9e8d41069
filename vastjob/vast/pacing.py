"""Client-side pacing to Vast's documented per-endpoint rate limits, so vastjob does not cause 429 storms.

Vast limits each endpoint per identity as a minimum interval between requests and answers 429 (without a
`Retry-After`) when a client comes sooner. A local emulator (127.0.0.1) has no such limits unless its
fault knobs say so, so a client of one is not paced unless asked to be.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

import httpx

# Seconds between two requests to one endpoint (`x-rate-limit` in Vast's endpoint files; search: 10 a minute).
VAST_INTERVALS: Mapping[str, float] = {
    "search": 6.0,
    "create": 4.5,
    "destroy": 3.0,
    "show": 2.0,
    "list": 1.0,
    "manage": 1.0,
}
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_INSTANCE = re.compile(r"/api/v0/instances/\d+/?")


def route_of(method: str, path: str) -> str:
    """The endpoint a request goes to, by the names VAST_INTERVALS uses ("" for others)."""
    if path.startswith("/api/v0/bundles") or path.startswith("/api/v0/search/asks"):
        return "search"
    if path.startswith("/api/v0/asks/"):
        return "create"
    if path.startswith("/api/v1/instances"):
        return "list"
    if _INSTANCE.fullmatch(path):
        return {"GET": "show", "PUT": "manage", "DELETE": "destroy"}.get(method, "")
    return ""


class Pacer:
    """Waits, before a request, until its endpoint's interval has passed since the last one."""

    def __init__(
        self,
        intervals: Mapping[str, float],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.intervals = dict(intervals)
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}

    @classmethod
    def for_url(
        cls, base_url: str, intervals: Mapping[str, float] | None, sleep: Callable[[float], None]
    ) -> Pacer:
        """Vast's intervals for a remote API, none for one on this machine, or the ones given."""
        if intervals is None:
            local = httpx.URL(base_url).host in LOOPBACK
            intervals = {} if local else VAST_INTERVALS
        return cls(intervals, sleep)

    def wait(self, method: str, path: str) -> float:
        """Sleep as long as the endpoint's interval asks; the seconds slept."""
        route = route_of(method, path)
        interval = self.intervals.get(route, 0.0)
        if interval <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get(route)
        waited = 0.0 if last is None else max(0.0, last + interval - now)
        if waited > 0:
            self._sleep(waited)
        self._last[route] = now + waited
        return waited
