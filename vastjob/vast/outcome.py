"""How a job ended, as the job itself said: its result file, else its log's final line; never a guess.

The script writes `result.json` (and uploads it to `logs:`) and ends its log with
`TIME [vastjob] job success|failure|signal, exit code N: ACTION`. Where neither can be read, the outcome is
"unknown" and `why` says what was missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["succeeded", "failed", "unknown"]
_START = re.compile(r"^\S+ \[vastjob\] job \S+, spec \S+$")
_STEP_FAILED = re.compile(r"^\S+ \[([^\]]+)\] failed, exit code (\d+)$")
_STEP = re.compile(
    r"^(\S+) \[([^\]]+)\] (start, attempt \d+|done|done before: skipped|failed, exit code \d+)$"
)
_FINAL = re.compile(r"^(\S+) \[vastjob\] job (success|failure|signal), exit code (\d+): (\w+)$")


@dataclass(frozen=True)
class JobOutcome:
    """The outcome, the script's exit code, why (for a failure or an unknown), and when it was logged."""

    outcome: Outcome
    exit_code: int | None = None
    why: str = ""
    ended_at: float | None = None  # seconds since the epoch, from the final log line
    source: Literal["result", "log", "none"] = "none"
    steps: tuple[dict[str, str], ...] = ()  # each step's start, end and status, read from the log

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)


def _stamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def steps_of(log: str) -> tuple[dict[str, str], ...]:
    """Each step of the log's last start, in the order they started: id, start, end and status."""
    steps: dict[str, dict[str, str]] = {}
    for line in log.splitlines():
        if _START.match(line):
            steps = {}
        elif (m := _STEP.match(line)) and m.group(2) != "vastjob":
            stamp, sid, what = m.groups()
            step = steps.setdefault(sid, {"id": sid, "start": "", "end": "", "status": "running"})
            if what.startswith("start"):
                step.update(start=stamp, end="", status="running")
            else:
                status = "skipped" if what.endswith("skipped") else what.split(",")[0]
                step.update(end=stamp, status=status)
    return tuple(steps.values())


def from_log(log: str) -> JobOutcome | None:
    """The outcome the log's final line gives, for the last start in it; None when it has none yet."""
    final = failed = None
    for line in log.splitlines():
        if _START.match(line):
            final = failed = None  # a new start: what an earlier one ended with no longer counts
        elif m := _FINAL.match(line):
            final = m
        elif (s := _STEP_FAILED.match(line)) and final is None:
            failed = s
    if final is None:
        return None
    stamp, end, code, _action = final.groups()
    if end == "signal":
        why = "stopped by a signal (a restart resumes it)"
        return JobOutcome("unknown", int(code), why, _stamp(stamp), "log", steps_of(log))
    outcome: Outcome = "succeeded" if end == "success" else "failed"
    why = "" if end == "success" else f"exit code {code}"
    if end == "failure" and failed is not None:
        why = f"step {failed.group(1)} failed, exit code {failed.group(2)}"
    return JobOutcome(outcome, int(code), why, _stamp(stamp), "log", steps_of(log))


def from_result(text: str) -> JobOutcome | None:
    """The outcome a result.json gives; None when it is not one (unreadable, or not the script's)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("outcome") not in ("succeeded", "failed"):
        return None
    code = data.get("exit_code")
    why = str(data.get("reason") or "") or ("" if data["outcome"] == "succeeded" else f"exit code {code}")
    return JobOutcome(data["outcome"], code if isinstance(code, int) else None, why, None, "result")


def read_outcome(result: str | None, log: str | None) -> JobOutcome:
    """The job's outcome from its result (preferred) or its log; "unknown" saying why when neither tells."""
    found = from_result(result) if result is not None else None
    logged = from_log(log) if log is not None else None
    if found is not None:
        # The result has no time of its own: the final log line's, when there is one.
        ended = logged.ended_at if logged is not None else None
        why = found.why
        if logged is not None and logged.why.startswith("step ") and why.startswith("exit code"):
            why = logged.why  # the failed step, which the result does not name
        steps = logged.steps if logged is not None else ()
        return JobOutcome(found.outcome, found.exit_code, why, ended, "result", steps)
    if logged is not None:
        return logged
    if result is None and log is None:
        return JobOutcome("unknown", why="neither the job's result nor its log could be read")
    if log is not None:
        return JobOutcome("unknown", why="the job's log has no final line (still running, or killed)")
    return JobOutcome("unknown", why="the job's result file is unreadable and its log could not be read")
