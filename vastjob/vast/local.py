"""`vastjob apply --local`: the whole apply against a local emulator, then follow the job to its end.

The emulator is handed in as a factory (the CLI passes `vastjob.emulator.Emulator`), so this module speaks
only the wire format, like the rest of `vastjob.vast`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vastjob.spec.model import JobSpec
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.plan import Plan

LOG_PATH = Path("var/log/vastjob/job.log")  # under the instance's sandbox, where the runtime writes it
TAIL = 20


class LocalServer(Protocol):
    """What `--local` needs of an emulator: where it listens and a key it accepts."""

    @property
    def url(self) -> str:
        """The base URL, http://127.0.0.1:PORT."""

    @property
    def api_key(self) -> str:
        """An account key the server accepts."""


@dataclass
class LocalOutcome:
    """How a local run ended."""

    url: str
    sandbox: str
    instance_id: int | None
    final_state: str | None
    outcome: str  # succeeded | failed | ended | not_started
    log_path: str | None
    log_tail: list[str]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return dataclasses.asdict(self)


def outcome_of(job: JobSpec, final_state: str) -> str:
    """Whether an end state means success or failure, read through the job's shutdown actions."""
    action = {"destroyed": "destroy", "stopped": "stop", "running": "keep"}.get(final_state)
    ok, bad = job.shutdown.on_success, job.shutdown.on_failure
    if action == ok != bad:
        return "succeeded"
    if action == bad != ok:
        return "failed"
    return "ended"


def run_local(
    job: JobSpec,
    start: Callable[[Path], AbstractContextManager[LocalServer]],
    sandbox: Path,
    *,
    options: ApplyOptions,
    environ: Mapping[str, str] | None = None,
    say: Callable[[str], None] = lambda _m: None,
    confirm: Callable[[Plan], bool] = lambda _p: True,
    show_plan: Callable[[Plan], None] = lambda _p: None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> tuple[ApplyResult, LocalOutcome]:
    """Apply `job` with `--wait` against an emulator started for the call, follow it, report how it ended."""
    sandbox.mkdir(parents=True, exist_ok=True)
    with start(sandbox) as server:
        say(f"local emulator at {server.url}; instance sandboxes under {sandbox}")

        def connect() -> VastClient:
            return VastClient(
                server.api_key,
                server.url,
                retry=RetryPolicy(attempts=4, base_delay=0.05),
                log_poll_delay=0.05,
            )

        opts = dataclasses.replace(options, wait=True, poll_s=min(options.poll_s, poll_s))
        result = Applier(
            job, connect, options=opts, environ=environ, say=say, confirm=confirm, show_plan=show_plan
        ).run()
        outcome = LocalOutcome(
            server.url, str(sandbox), result.instance_id, result.state, "not_started", None, []
        )
        if result.instance_id is None:
            return result, outcome
        log = sandbox / str(result.instance_id) / LOG_PATH
        outcome.log_path = str(log)
        say(f"instance {result.instance_id}: sandbox {log.parents[3]}; its log: {log}")
        limit = timeout_s if timeout_s is not None else (job.run.max_runtime_s or 3600) + 600
        with connect() as client:
            state = _follow(client, result.instance_id, poll_s, time.monotonic() + limit)
            outcome.final_state = state
            if state != "destroyed":
                # A local run leaves nothing behind; the sandbox (and the log) stays for reading.
                client.destroy_instance(result.instance_id)
                say(f"destroyed local instance {result.instance_id} (it ended {state})")
        outcome.outcome = outcome_of(job, state)
        if log.is_file():
            outcome.log_tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL:]
        return result, outcome


def _follow(client: VastClient, instance_id: int, poll_s: float, deadline: float) -> str:
    """Wait until the instance is destroyed or stopped (or the deadline passes); the state it ended in."""
    while True:
        inst = client.show_instance(instance_id)
        if inst is None:
            return "destroyed"
        state = str(inst.get("actual_status") or "provisioning")
        if state in ("stopped", "exited", "offline", "unknown"):
            return state
        if time.monotonic() > deadline:
            return f"{state} (timed out)"
        time.sleep(poll_s)
