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
from typing import Any, Literal, Protocol

from vastjob.errors import EXIT_JOB_FAILED, EXIT_OK, Interrupted
from vastjob.spec.model import JobSpec
from vastjob.vast import jobrecord
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult
from vastjob.vast.backstop import follow_limit_s
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.destroy import Patience, destroy_verified
from vastjob.vast.follow import Throttled, follow_file
from vastjob.vast.instance import show
from vastjob.vast.lifecycle import disk_per_hour
from vastjob.vast.outcome import read_outcome
from vastjob.vast.plan import Plan

Outcome = Literal["succeeded", "failed", "unknown", "not_started"]

LOG_PATH = Path("var/log/vastjob/job.log")  # under the instance's sandbox, where the runtime writes it
RESULT_PATH = Path("var/lib/vastjob/result.json")
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
    streamed: bool = False  # the log was printed as it came
    steps: list[dict[str, str]] = dataclasses.field(default_factory=list)  # start, end, status of each
    why: str = ""  # for a failure or an unknown outcome: what the job said, or what could not be read

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
        """EXIT_JOB_FAILED (4) when the job failed or said nothing readable; 0 when it succeeded or
        never started (the apply's own result says why)."""
        if self.local.outcome in ("failed", "unknown"):
            return EXIT_JOB_FAILED
        return self.applied.exit_code if self.local.outcome == "not_started" else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The apply's summary with the local outcome under `local`."""
        return {**self.applied.to_json(), "local": self.local.to_json()}

    def render(self) -> str:
        """The last lines of the job's log, then how it ended and where its sandbox is."""
        out = self.local
        shown = out.log_tail and not out.streamed  # a streamed log was printed whole already
        lines = [f"--- last lines of {out.log_path}", *out.log_tail] if shown else []
        lines.append(
            f"job {self.job_name} {out.outcome} (instance {out.instance_id} ended {out.final_state})"
            + (f": {out.why}; " if out.why else "; ")
            + (
                f"sandbox {out.sandbox} removed (--keep keeps it)"
                if out.sandbox_removed
                else f"sandbox kept at {out.sandbox}"
            )
        )
        return "\n".join(lines)


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
    stream: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LocalResult:
    """Apply `job` with `--wait` against an emulator started for the call, stream its log (`stream`) to
    its end, and report how it ended as the job said it (its result file, else its log's final line)."""
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
        iid, streamed = result.instance_id, stream is not None
        log = sandbox / str(iid) / LOG_PATH
        outcome.log_path = str(log)
        say(f"instance {iid}: sandbox {log.parents[3]}; its log: {log}")
        # Followed no longer than the deadline its label carries; past it, it is destroyed below.
        limit = timeout_s if timeout_s is not None else follow_limit_s(job)
        with connect() as client:
            record = _record(job, client, iid, environ)
            try:
                followed = follow_file(
                    client,
                    iid,
                    log,
                    emit=stream or _quiet,
                    progress=progress or Throttled(say),
                    poll_s=poll_s,
                    timeout_s=limit,
                    uploads=job.logs is not None,
                )
            except KeyboardInterrupt:
                # The emulator lives in this command: leaving it ends the job too (unlike on Vast).
                raise Interrupted(
                    f"interrupted: detached from job {job.name}; the local emulator ends with this command, "
                    f"so instance {iid} ends too (its sandbox stays at {sandbox}); `vastjob apply` it again "
                    "to rerun it"
                ) from None
            state = followed.state + (" (timed out)" if followed.timed_out else "")
            outcome.final_state = state
            if state != "destroyed":
                # A local run leaves nothing behind; the sandbox (and the log) stays for reading.
                destroy_verified(client, iid, patience=Patience(poll_s=poll_s))
                say(f"destroyed local instance {iid} (it ended {state})")
            # The other nodes of a multi-node job, each followed to its end; then the overlay goes too.
            _end_nodes(client, getattr(result, "nodes", [])[1:], limit, poll_s, say)
            if getattr(result, "overlay", None):
                from vastjob.vast.overlays import delete_overlay

                delete_overlay(client, str(getattr(result, "overlay", "")))
        outcome.streamed = streamed
        told = read_outcome(_text(sandbox / str(iid) / RESULT_PATH), _text(log))
        outcome.outcome, outcome.why, outcome.steps = told.outcome, told.why, list(told.steps)
        if log.is_file():
            outcome.log_tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL:]
        record.state, record.outcome, record.why = state, told.outcome, told.why
        record.exit_code = told.exit_code
        record.ended_at = told.ended_at or time.time()
        record.gone_at = time.time()
        jobrecord.save(record, environ)
        return LocalResult(job.name, result, outcome)


def _quiet(_line: str) -> None:
    """A log line nobody asked to see."""


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _record(
    job: JobSpec, client: VastClient, iid: int, environ: Mapping[str, str] | None
) -> jobrecord.JobRecord:
    """The job's record in the local history, with the instance's $/h as the API quotes it."""
    inst = show(client, iid)
    record = jobrecord.JobRecord.new(
        job,
        iid,
        local=True,
        dph_total=None if inst is None else inst.dph_total,
        storage_per_hour=None if inst is None else disk_per_hour(inst.raw),
        state=None if inst is None else inst.state,
    )
    jobrecord.save(record, environ)
    return record


def _end_nodes(
    client: VastClient, nodes: list[int], limit: float, poll_s: float, say: Callable[[str], None]
) -> None:
    """Follow each node until it ends itself, destroying one that ends otherwise (a local run leaves none)."""
    from vastjob.vast.instance import wait_for

    for node in nodes:
        waited = wait_for(client, node, lambda inst: inst.gone, poll_s=poll_s, timeout_s=limit)
        if waited.state != "destroyed":
            destroy_verified(client, node, patience=Patience(poll_s=poll_s))
            say(f"destroyed local instance {node} (it ended {waited.state})")
