"""`vastjob apply --local`: the whole apply against a local emulator, then follow the job to its end.

The emulator is handed in as a factory (the CLI passes `vastjob.emulator.Emulator`), so this module speaks
only the wire format, like the rest of `vastjob.vast`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from vastjob.errors import EXIT_OK, EXIT_USER
from vastjob.spec.model import JobSpec, ShutdownVerb
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult
from vastjob.vast.backstop import follow_limit_s
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.destroy import Patience, destroy_verified
from vastjob.vast.instance import wait_for
from vastjob.vast.plan import Plan

Outcome = Literal["succeeded", "failed", "ended", "not_started"]

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
    outcome: Outcome
    log_path: str | None
    log_tail: list[str]
    sandbox_removed: bool = False  # a sandbox made for the run, removed after its success

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return dataclasses.asdict(self)


@dataclass
class LocalResult:
    """What `apply --local` did: the apply, then how the job ended on this machine."""

    job_name: str
    applied: ApplyResult
    local: LocalOutcome

    @property
    def exit_code(self) -> int:
        """1 when the job failed; a job that ended otherwise, or never started, is not an error."""
        return EXIT_USER if self.local.outcome == "failed" else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The apply's summary with the local outcome under `local`."""
        return {**self.applied.to_json(), "local": self.local.to_json()}

    def render(self) -> str:
        """The last lines of the job's log, then how it ended and where its sandbox is."""
        out = self.local
        lines = [f"--- last lines of {out.log_path}", *out.log_tail] if out.log_tail else []
        lines.append(
            f"job {self.job_name} {out.outcome} (instance {out.instance_id} ended "
            f"{out.final_state}); "
            + (f"sandbox {out.sandbox} removed (--keep keeps it)" if out.sandbox_removed
               else f"sandbox kept at {out.sandbox}")
        )
        return "\n".join(lines)


def outcome_of(job: JobSpec, final_state: str) -> Outcome:
    """Whether an end state means success or failure, read through the job's shutdown actions."""
    verbs: dict[str, ShutdownVerb] = {"destroyed": "destroy", "stopped": "stop", "running": "keep"}
    action = verbs.get(final_state)
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
) -> LocalResult:
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
            return LocalResult(job.name, result, outcome)
        log = sandbox / str(result.instance_id) / LOG_PATH
        outcome.log_path = str(log)
        say(f"instance {result.instance_id}: sandbox {log.parents[3]}; its log: {log}")
        # Followed no longer than the deadline its label carries; past it, it is destroyed below.
        limit = timeout_s if timeout_s is not None else follow_limit_s(job)
        with connect() as client:
            # Followed until it destroys or stops itself (or dies), as its shutdown says it ends.
            waited = wait_for(
                client, result.instance_id, lambda inst: inst.gone, poll_s=poll_s, timeout_s=limit
            )
            state = waited.state + (" (timed out)" if waited.timed_out else "")
            outcome.final_state = state
            if state != "destroyed":
                # A local run leaves nothing behind; the sandbox (and the log) stays for reading.
                destroy_verified(client, result.instance_id, patience=Patience(poll_s=poll_s))
                say(f"destroyed local instance {result.instance_id} (it ended {state})")
        outcome.outcome = outcome_of(job, state)
        if log.is_file():
            outcome.log_tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL:]
        return LocalResult(job.name, result, outcome)
