"""Every instance's deadline: when it must be gone, written into its label at create so that `reap`, `status`
and apply's own wait read it from any listing, without local state.

    deadline = created + run bound + boot allowance

The run bound is `run.max_runtime`; a job without one gets `UNBOUNDED_RUNTIME_S` (a day), so nothing bills
for ever. An interruptible job may be stopped by an outbid and resume later, running its script again: its
wall bound is `INTERRUPTIBLE_FACTOR` times the run bound (plus the boot allowance once per resume it may
need), documented in docs/reaping.md. The boot allowance (`shutdown.boot_allowance`) also bounds how long an
instance may take to reach `running`; `shutdown.keep_stopped_for` how long a stopped one is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vastjob.spec.model import BOOT_ALLOWANCE_S, KEEP_STOPPED_S
from vastjob.text import format_duration
from vastjob.vast.labels import LABEL_LIMIT, Label

if TYPE_CHECKING:
    from vastjob.spec.model import JobSpec

__all__ = ["BOOT_ALLOWANCE_S", "KEEP_STOPPED_S", "Deadline", "for_job", "label_for", "of_label"]
UNBOUNDED_RUNTIME_S = 86_400  # the bound of a job without run.max_runtime
INTERRUPTIBLE_FACTOR = 2

# The label's field names: short, since the whole label must fit in 256 characters.
CREATED, BOOT, DEADLINE, KEEP = "c", "b", "d", "k"


@dataclass(frozen=True)
class Deadline:
    """When an instance was created, how long it may take to boot, when it must be gone, and how long a
    stopped one is kept; all in whole epoch seconds (or seconds)."""

    created: int
    boot_allowance_s: int
    deadline: int
    keep_stopped_s: int

    @property
    def boot_by(self) -> int:
        """When it must be running at the latest (created + boot allowance)."""
        return self.created + self.boot_allowance_s

    def left(self, now: float) -> int:
        """Seconds until the deadline (negative once past)."""
        return int(self.deadline - now)

    def fields(self) -> dict[str, str]:
        """The label fields that carry it."""
        return {
            CREATED: str(self.created),
            BOOT: str(self.boot_allowance_s),
            DEADLINE: str(self.deadline),
            KEEP: str(self.keep_stopped_s),
        }

    def to_json(self, now: float) -> dict[str, int]:
        """JSON-ready, with the seconds left."""
        return {
            "created": self.created,
            "boot_by": self.boot_by,
            "deadline": self.deadline,
            "keep_stopped_s": self.keep_stopped_s,
            "left_s": self.left(now),
        }


class BadDeadline(ValueError):
    """A vastjob label whose deadline fields are there but unreadable: the instance is left alone."""


def run_bound_s(job: JobSpec) -> int:
    """The running time the deadline allows: max_runtime (or the default bound), wider when interruptible."""
    bound = job.run.max_runtime_s or UNBOUNDED_RUNTIME_S
    return bound * INTERRUPTIBLE_FACTOR if job.offer.interruptible else bound


def for_job(job: JobSpec, now: float | None = None) -> Deadline:
    """The deadline of an instance of `job` created at `now`."""
    created = int(time.time() if now is None else now)
    boot = job.shutdown.boot_allowance_s
    return Deadline(created, boot, created + run_bound_s(job) + boot, job.shutdown.keep_stopped_for_s)


def label_for(job: JobSpec, now: float | None = None, nonce: str | None = None) -> str:
    """The label a new instance of `job` is created with: the spec's, the apply's nonce, its deadline.

    `now` is taken just before the create is sent, a moment before Vast's own creation time, so the
    deadline is never later than the one counted from that."""
    text = str(Label(job.name, job.spec_hash, nonce).with_fields(**for_job(job, now).fields()))
    if len(text) > LABEL_LIMIT:  # cannot happen for a valid job name; guarded all the same
        raise ValueError(f"label {text[:40]}... is {len(text)} characters; Vast keeps {LABEL_LIMIT}")
    return text


def of_label(label: Label) -> Deadline | None:
    """The deadline a parsed label carries; None for a label of the older form (no deadline fields).

    BadDeadline when some fields are there but not whole numbers in order: such a label is not to be
    acted on.
    """
    names = (CREATED, BOOT, DEADLINE, KEEP)
    fields = label.fields
    present = [n for n in names if n in fields]
    if not present:
        return None
    if len(present) != len(names) or not all(fields[n].isdigit() for n in names):
        raise BadDeadline(f"deadline fields of {label.spec} are incomplete or not numbers")
    if any(label.duplicated(n) for n in names):
        raise BadDeadline(f"deadline fields of {label.spec} appear twice")
    created, boot, deadline, keep = (int(fields[n]) for n in names)
    if deadline < created:
        raise BadDeadline(f"deadline of {label.spec} is before its creation")
    return Deadline(created, boot, deadline, keep)


def describe_left(seconds: int) -> str:
    """Time left as status shows it: `2h5m left`, or `past by 3m`."""
    return f"{format_duration(seconds)} left" if seconds >= 0 else f"past by {format_duration(-seconds)}"
