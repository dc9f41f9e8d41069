"""Following a job to its end: its log as it grows, a progress line between lines, and how it ended.

The end is the job's own final log line (`[vastjob] job success|failure, ...`), then its instance
destroying or stopping itself as its shutdown says; with `keep` the instance stays, and the final line
alone ends the wait (no waiting for max_runtime after the job finished).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vastjob.text import format_duration
from vastjob.vast.client import VastClient
from vastjob.vast.instance import Instance, show
from vastjob.vast.outcome import from_log

_FINAL = re.compile(r"\[vastjob\] job (?:success|failure), exit code \d+: (\w+)$", re.MULTILINE)

PROGRESS_EVERY_S = 30.0  # a progress line after this long without a log line
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
    started = last_line = clock()
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
            last_line = clock()
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
        if now - last_line >= PROGRESS_EVERY_S:
            progress(_progress(inst, started, now))
            last_line = now
        sleep(poll_s)
