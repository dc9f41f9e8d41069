"""Which of the account's instances `vastjob reap` ends, and why: one judgement per instance, read from
the listing alone (its label, its state, its status message), so any machine can run it.

Only a label vastjob wrote is ever judged; a broken vastjob label is left alone, as is anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from vastjob.spec.model import BOOT_ALLOWANCE_S, KEEP_STOPPED_S
from vastjob.text import format_duration
from vastjob.vast import deadline, labels
from vastjob.vast.instance import Instance

# Why an instance is ended; None in a Verdict means it is kept.
Reason = Literal["past_deadline", "never_started", "dead", "failed_status", "stopped_too_long"]
# What reap does about one instance.
Action = Literal["destroy", "keep", "left_alone"]

# status_msg texts that never recover: the container could not be created, nothing will run it.
UNRECOVERABLE = re.compile(
    r"OCI runtime create failed|failed to create (?:shim )?task|pull access denied|manifest unknown"
    r"|no such image|repository does not exist|error response from daemon: .*(?:not found|denied)",
    re.IGNORECASE,
)
# Instances that have not reached running yet: the boot allowance bounds how long they may take.
BOOTING = frozenset({None, "created", "loading"})


@dataclass(frozen=True)
class Verdict:
    """What reap makes of one instance: the action, the reason when it ends it, and a sentence."""

    instance: Instance
    action: Action
    reason: Reason | None
    why: str
    deadline: deadline.Deadline | None = None


def judge(inst: Instance, now: float) -> Verdict:
    """The verdict on one instance of the listing at epoch time `now`."""
    if not labels.is_vastjob(inst.label):
        return Verdict(inst, "left_alone", None, "not a vastjob label")
    parsed = labels.parse_label(inst.label)
    if parsed is None:
        return Verdict(inst, "left_alone", None, "a vastjob label that does not parse: left alone")
    try:
        found = deadline.of_label(parsed)
    except deadline.BadDeadline as err:
        return Verdict(inst, "left_alone", None, f"{err}: left alone")
    return _judge(inst, now, found)


def _judge(inst: Instance, now: float, found: deadline.Deadline | None) -> Verdict:
    created = found.created if found else _start_date(inst)
    boot = found.boot_allowance_s if found else BOOT_ALLOWANCE_S
    keep = found.keep_stopped_s if found else KEEP_STOPPED_S

    def end(reason: Reason, why: str) -> Verdict:
        return Verdict(inst, "destroy", reason, why, found)

    if inst.dead:
        return end("dead", f"the host reports {inst.actual_status}: it will never run")
    # Only before running: a running instance's message may be a stale one, and its job is under way.
    failure = UNRECOVERABLE.search(inst.status_msg or "") if inst.actual_status != "running" else None
    if failure is not None:
        return end("failed_status", f"status {failure.group(0)!r}, which never recovers")
    # Stopped for good (not an outbid bid waiting to resume): no GPU bills, and the disk may hold what a
    # failed job left for debugging, so the retention decides, not the deadline.
    if inst.actual_status == "stopped" and inst.intended_status != "running":
        if created is not None and now - created > keep:
            return end("stopped_too_long", f"stopped, and older than the {format_duration(keep)} it is kept")
        return Verdict(inst, "keep", None, "stopped, kept for now (its disk bills)", found)
    if found is not None and now > found.deadline:
        return end("past_deadline", f"past its deadline by {format_duration(now - found.deadline)}")
    # A bid instance goes back to loading each time it resumes after an outbid: only its deadline bounds it.
    booting = inst.actual_status in BOOTING and not inst.raw.get("is_bid")
    if booting and created is not None and now - created > boot:
        return end("never_started", f"still {inst.state} after the {format_duration(boot)} boot allowance")
    return Verdict(inst, "keep", None, "within its deadline" if found else "no deadline in its label", found)


def _start_date(inst: Instance) -> int | None:
    start = inst.raw.get("start_date")
    return int(start) if isinstance(start, int | float) and start else None
