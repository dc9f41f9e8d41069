"""Following a job to its end: its log as it grows, a progress line between lines, and how it ended.

The end is the job's own final log line (`[vastjob] job success|failure, ...`), then its instance
destroying or stopping itself as its shutdown says; with `keep` the instance stays, and the final line
alone ends the wait (no waiting for max_runtime after the job finished).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vastjob.errors import EXIT_JOB_FAILED, EXIT_OK, ApiError, Interrupted
from vastjob.spec.model import JobSpec
from vastjob.text import format_duration
from vastjob.vast.client import VastClient
from vastjob.vast.instance import Instance, looks, show
from vastjob.vast.outcome import JobOutcome, Outcome, from_log
from vastjob.vast.result import ApplyResult

_FINAL = re.compile(r"\[vastjob\] job (?:success|failure), exit code \d+: (\w+)$", re.MULTILINE)

PROGRESS_EVERY_S = 30.0  # without a terminal, a progress line at most this often


class Throttled:
    """A progress sink for plain output: passes one progress line on at most every PROGRESS_EVERY_S."""

    def __init__(self, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._say, self._clock = say, clock
        self._last = clock()

    def __call__(self, text: str) -> None:
        """Say `text` when the last one said is old enough."""
        if self._clock() - self._last >= PROGRESS_EVERY_S:
            self._last = self._clock()
            self._say(text)
SHUTDOWN_GRACE_S = 120.0  # after the final line, how long the instance gets to end itself


@dataclass
class Followed:
    """How the follow ended: the last state seen, and whether time ran out first."""

    state: str
    timed_out: bool = False


def _action(log: str) -> str | None:
    """The shutdown action of the log's last final line."""
    found = [m.group(1) for m in _FINAL.finditer(log)]
    return found[-1] if found else None


def _progress(inst: Instance | None, started: float, now: float) -> str:
    elapsed = now - started
    if inst is None:
        return f"[vastjob apply] destroyed, {format_duration(int(elapsed))}"
    cost = "" if inst.dph_total is None else f", ~${inst.dph_total * elapsed / 3600:.3f} so far"
    msg = f" ({inst.status_msg})" if inst.status_msg else ""
    return f"[vastjob apply] {inst.state}{msg}, {format_duration(int(elapsed))}{cost}"


def follow_file(
    client: VastClient,
    instance_id: int,
    log: Path,
    *,
    emit: Callable[[str], None],
    progress: Callable[[str], None],
    poll_s: float,
    timeout_s: float,
    uploads: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Followed:
    """Print the lines of a log file on this machine (an `apply --local` instance's) until the job ends
    (`uploads`: the job uploads its log and result after its final line, which the end waits for)."""
    started = clock()
    offset, partial, text = 0, b"", ""
    ended_at: float | None = None
    while True:
        inst = show(client, instance_id)
        try:
            with log.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
        except OSError:
            chunk = b""
        offset += len(chunk)
        *lines, partial = (partial + chunk).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace")
            text += line + "\n"
            emit(line)
        now = clock()
        if inst is None or inst.gone:
            return Followed("destroyed" if inst is None else inst.state)
        if ended_at is None and from_log(text) is not None:
            ended_at = now
        # Kept running: nothing more comes once the result is uploaded (or when nothing is uploaded).
        uploaded = not uploads or "[output:result] " in text
        kept = ended_at is not None and _action(text) == "keep" and uploaded
        if kept or (ended_at is not None and now - ended_at > SHUTDOWN_GRACE_S):
            return Followed(inst.state)
        if now - started > timeout_s:
            return Followed(inst.state, timed_out=True)
        progress(_progress(inst, started, now))
        sleep(poll_s)


@dataclass
class FollowedApply:
    """`apply` followed to the job's end: what apply did, then how the job ended as it said itself."""

    applied: ApplyResult
    outcome: JobOutcome

    @property
    def exit_code(self) -> int:
        """EXIT_JOB_FAILED (4) unless the job said it succeeded; apply's own code when it rented nothing."""
        if self.applied.instance_id is None:
            return self.applied.exit_code
        return EXIT_OK if self.outcome.outcome == "succeeded" else EXIT_JOB_FAILED

    def to_json(self) -> dict[str, Any]:
        """The apply's summary with the job's outcome under `job`."""
        return {**self.applied.to_json(), "job": self.outcome.to_json()}

    def render(self) -> str:
        """What apply did, then the outcome."""
        why = f" ({self.outcome.why})" if self.outcome.why else ""
        return f"{self.applied.render()}\njob {self.outcome.outcome}{why}"


def follow_instance(
    client: VastClient,
    job: JobSpec,
    applied: ApplyResult,
    *,
    emit: Callable[[str], None],
    poll_s: float,
    progress: Callable[[str], None] = lambda _text: None,
    environ: Mapping[str, str] | None = None,
) -> FollowedApply:
    """Print the job's log from the API as it grows until the job ends, then read how it ended: its final
    log line, else (its instance gone with the last lines) what it uploaded to `logs:`. Ctrl-C detaches."""
    from vastjob.vast import jobrecord
    from vastjob.vast.jobstatus import complete, uploaded_log
    from vastjob.vast.lifecycle import new_lines

    iid = applied.instance_id
    if iid is None:
        return FollowedApply(applied, JobOutcome("unknown", why="no instance was rented"))
    text, started = "", time.monotonic()
    seen: list[str] = []
    try:
        for inst in looks(client, iid, poll_s=poll_s):
            if inst is None:
                break
            try:
                current = client.instance_logs(iid, tail=100_000).splitlines()
            except ApiError:
                if client.show_instance(iid) is None:
                    break  # destroyed since the look: its logs are gone with it
                raise
            for line in new_lines(seen, current):
                emit(line)
                text += line + "\n"
            seen = current
            progress(_progress(inst, started, time.monotonic()))
            if inst.gone or (_action(text) == "keep" and (job.logs is None or "[output:result] " in text)):
                break
    except KeyboardInterrupt:
        raise Interrupted(
            f"detached from job {job.name}: it goes on. `vastjob logs -f {job.name}` follows it again; "
            f"`vastjob stop {job.name}` or `vastjob destroy {job.name}` ends it"
        ) from None
    told = from_log(text)
    records = [r for r in jobrecord.load_all(job.name, environ) if r.instance_id == iid]
    if told is None and records:
        # Gone before its last lines were read: what it uploaded to `logs:` has them, and tells.
        (rec,) = complete(records, client, environ)
        uploaded, _why = uploaded_log(rec, environ)
        lines = (uploaded or "").splitlines()
        last = text.splitlines()[-1:] if text else []
        if last and last[0] in lines:
            for line in lines[len(lines) - lines[::-1].index(last[0]) :]:
                emit(line)
        found: Outcome = rec.outcome if rec.outcome in ("succeeded", "failed") else "unknown"  # type: ignore[assignment]
        told = JobOutcome(found, rec.exit_code, rec.why, rec.ended_at, "result")
    elif told is not None:
        for rec in records:
            rec.outcome, rec.exit_code, rec.why = told.outcome, told.exit_code, told.why
            rec.ended_at = told.ended_at
            jobrecord.save(rec, environ)
    missing = JobOutcome("unknown", why="the job's log ended without its final line")
    return FollowedApply(applied, told or missing)
