"""Shared pieces of the vast tests: a transport that records what went over the wire, fast clients, jobs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vastjob.spec.model import JobSpec
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


def job_doc(**over: Any) -> dict[str, Any]:
    """A small job that renders quickly and matches plenty of emulator offers."""
    doc: dict[str, Any] = {
        "version": 1,
        "name": "tiny",
        "workdir": "/workspace/tiny",
        "offer": {
            "gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20},
            "max_price_per_hour": 0.8,
            "verified_only": True,
            "order": ["price"],
        },
        "instance": {"image": "python:3.11-slim", "disk_gb": 20},
        "run": {"command": "sleep 30", "max_runtime": "10m"},
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }
    for key, value in over.items():
        doc[key] = value
    return doc


def make_job(tmp_path: Path, **over: Any) -> JobSpec:
    """A JobSpec whose source is a file in tmp_path (so its `.env` is tmp_path/.env)."""
    source = tmp_path / "job.yaml"
    if not source.exists():
        source.write_text("# built in memory\n")
    return JobSpec.from_document(job_doc(**over), source=str(source))
