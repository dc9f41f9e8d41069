"""What went over the wire: a transport that records every request, and clients with millisecond backoff."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from vastjob.vast.client import RetryPolicy, VastClient


@dataclass
class Sent:
    """One request as it went over the wire, and the status that came back (None: no answer)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None


@dataclass
class Recorder(httpx.HTTPTransport):
    """A real HTTP transport that keeps every request it sends."""

    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        entry = Sent(request.method, str(request.url), dict(request.headers), request.read())
        self.sent.append(entry)
        response = super().handle_request(request)
        entry.status = response.status_code
        return response

    def paths(self, method: str | None = None) -> list[str]:
        """The paths of the requests sent, optionally of one method only."""
        return [httpx.URL(s.url).path for s in self.sent if method is None or s.method == method]


def fast_client(
    url: str, key: str, recorder: Recorder | None = None, sleeps: list[float] | None = None, attempts: int = 6
) -> VastClient:
    """A client with millisecond backoff that records its sleeps."""
    log = sleeps if sleeps is not None else []

    def sleep(seconds: float) -> None:
        log.append(seconds)
        time.sleep(min(seconds, 0.01))  # keep order in time without slowing the tests

    return VastClient(
        key,
        url,
        retry=RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01),
        sleep=sleep,
        transport=recorder,
        log_poll_delay=0.05,
        timeout=10.0,
    )
