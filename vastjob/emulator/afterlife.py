"""What a reaper has to deal with, emulated: instances that come back after one DELETE, onstart scripts
SIGKILLed while their container runs on (and bills), and a meter of the GPU time billed past each
instance's deadline (the `d=` field of a vastjob label: epoch seconds).

The fault knobs that switch these on live in `faults.py`; the emulator calls `wake` before every request
and `tick` from its timer.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vastjob.emulator.fleet import Fleet
    from vastjob.emulator.instances import Instance

_DEADLINE = re.compile(r"^vastjob:.*:d=(\d+)(?::|$)")


def label_deadline(label: str | None) -> int | None:
    """The deadline a vastjob label carries (its `d=` field), or None."""
    match = _DEADLINE.match(label or "")
    return int(match.group(1)) if match else None


@dataclass
class _Grave:
    wake_at: float  # time.monotonic() when it comes back
    status: str | None  # the status it comes back in
    intended: str


class Afterlife:
    """Resurrections, script kills and the past-deadline meter, for every instance of one emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graves: dict[int, _Grave] = {}
        self._doomed: dict[int, float] = {}  # instance id -> seconds into each start its script is killed
        self._killed_start: dict[int, int] = {}  # instance id -> the start whose script was killed
        self._past: dict[int, float] = {}  # GPU-seconds billed while running past the deadline
        self._sampled: dict[int, float] = {}  # instance id -> time.time() of the last sample

    def bury(self, inst: Instance, previous: str | None, after: float) -> None:
        """A destroy that does not last: the instance comes back in `previous` status `after` seconds on."""
        with self._lock:
            self._graves[inst.id] = _Grave(time.monotonic() + after, previous, "running")

    def wake(self, fleet: Fleet) -> list[Instance]:
        """Bring back the instances whose time has come (the market follows: their offers are taken)."""
        now = time.monotonic()
        with self._lock:
            due = [i for i, g in self._graves.items() if g.wake_at <= now]
            graves = {i: self._graves.pop(i) for i in due}
        back = []
        with fleet.lock:
            for instance_id, grave in graves.items():
                inst = fleet.instances[instance_id]
                inst.actual_status, inst.intended_status = grave.status, grave.intended
                inst.billed_until = inst.changed_at = now  # it bills again from now
                back.append(inst)
        return back

    def doom(self, instance_id: int, after: float) -> None:
        """SIGKILL this instance's onstart `after` seconds into each start; the container stays running."""
        with self._lock:
            self._doomed[instance_id] = after

    def kill_now(self, inst: Instance) -> None:
        """SIGKILL the onstart of a running instance at once (its traps do not run); it stays running."""
        inst.container.kill()
        with self._lock:
            self._killed_start[inst.id] = inst.starts

    def tick(self, fleet: Fleet) -> None:
        """Carry out due script kills and sample the past-deadline meter."""
        now = time.monotonic()
        with fleet.lock:
            running = [i for i in fleet.live() if i.actual_status == "running"]
        for inst in running:
            with self._lock:
                after = self._doomed.get(inst.id)
                done = self._killed_start.get(inst.id) == inst.starts
            if after is not None and not done and now - inst.changed_at >= after:
                self.kill_now(inst)
        self.sample(fleet)

    def sample(self, fleet: Fleet) -> None:
        """Add the GPU time each running instance has billed past its deadline since the last sample."""
        wall = time.time()
        with fleet.lock:
            rows = [
                (i.id, i.actual_status, label_deadline(i.label), int(i.offer.get("num_gpus") or 1))
                for i in fleet.instances.values()
            ]
        with self._lock:
            for instance_id, status, deadline, gpus in rows:
                last = self._sampled.get(instance_id, wall)
                self._sampled[instance_id] = wall
                if status != "running" or deadline is None:
                    continue
                start = max(last, float(deadline))
                if wall > start:
                    self._past[instance_id] = self._past.get(instance_id, 0.0) + (wall - start) * gpus

    def meter(self, inst: Instance) -> dict[str, Any]:
        """The deadline an instance's label carries and the GPU-seconds it billed past it."""
        with self._lock:
            past = self._past.get(inst.id, 0.0)
        return {"deadline": label_deadline(inst.label), "gpu_seconds_past_deadline": round(past, 3)}
