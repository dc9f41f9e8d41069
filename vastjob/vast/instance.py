"""Instances as vastjob reads them: one typed record, one state vocabulary, and one polling loop.

Every module that asks "is it running, is it dead, is it still billing its GPU" asks this one, so the
answers cannot drift apart; every wait on an instance (apply's `--wait`, `--local`, `logs --follow`) looks
at it through `looks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vastjob.errors import ApiError
from vastjob.text import format_duration
from vastjob.vast.client import VastClient

# What Vast reports in `actual_status`; "provisioning" stands for no state yet, "destroyed" for no instance.
State = Literal[
    "provisioning", "created", "loading", "running", "stopped", "exited", "offline", "unknown", "destroyed"
]
# States a host reports when the instance will never run its job: apply replaces such an instance.
DEAD_STATES: frozenset[State] = frozenset({"exited", "unknown", "offline"})
# States in which the job is not running and only the disk bills: stopped, or dead.
GONE_STATES: frozenset[State] = DEAD_STATES | {"stopped"}


@dataclass(frozen=True)
class Instance:
    """The fields of one Vast instance that vastjob reads; `raw` keeps the whole API object."""

    id: int
    label: str | None
    actual_status: str | None
    intended_status: str | None
    dph_total: float | None  # None when the answer gave no readable price: never read as $0/h
    status_msg: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Instance:
        """Build from one instance object of the list or show answer."""
        return cls(
            id=int(d.get("id") or 0),
            label=_opt_str(d.get("label")),
            actual_status=_opt_str(d.get("actual_status")),
            intended_status=_opt_str(d.get("intended_status")),
            dph_total=_opt_price(d.get("dph_total")),
            status_msg=_opt_str(d.get("status_msg")),
            raw=d,
        )

    @property
    def state(self) -> str:
        """The state as shown: `provisioning` until the host reports one."""
        return self.actual_status or "provisioning"

    @property
    def dead(self) -> bool:
        """Whether the host reports it will never run (exited, unknown, offline)."""
        return self.actual_status in DEAD_STATES

    @property
    def gone(self) -> bool:
        """Whether its job is not running and only its disk bills (stopped, or dead)."""
        return self.actual_status in GONE_STATES

    @property
    def settled(self) -> bool:
        """Whether a wait for `running` ends here: running, or stopped, or dead."""
        return self.actual_status == "running" or self.gone

    @property
    def alive(self) -> bool:
        """Whether it runs or is on its way to running (not stopped, stopping or dead)."""
        if self.dead or self.intended_status == "stopped":
            return False
        # A stopped instance asked to run again (a restart, or an interruptible one outbid) is coming back.
        return self.actual_status != "stopped" or self.intended_status == "running"

    @property
    def stoppable(self) -> bool:
        """Whether `stop` still has something to do: not stopped, or stopped but asked to run again."""
        return self.actual_status != "stopped" or self.intended_status == "running"

    def brief(self) -> dict[str, Any]:
        """The fields JSON outputs show of an instance."""
        return {k: self.raw.get(k) for k in ("id", "label", "actual_status", "dph_total")}


def show(client: VastClient, instance_id: int) -> Instance | None:
    """One instance, or None once it is destroyed."""
    found = client.show_instance(instance_id)
    return None if found is None else Instance.from_api(found)


def looks(
    client: VastClient,
    instance_id: int,
    *,
    poll_s: float,
    timeout_s: float | None = None,
    ramp: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Instance | None]:
    """Look at an instance every `poll_s` until it is destroyed (None is the last look) or time is up.

    The caller stops when it has seen what it waits for; the looks end by themselves only when the
    instance is gone or `timeout_s` has passed. With `ramp`, early looks come quicker (early states pass
    quickly), then every `poll_s`.
    """
    deadline = None if timeout_s is None else clock() + timeout_s
    polls = 0
    while True:
        inst = show(client, instance_id)
        yield inst
        if inst is None or (deadline is not None and clock() > deadline):
            return
        sleep(min(poll_s, 0.25 * 2**polls) if ramp else poll_s)
        polls += 1


@dataclass(frozen=True)
class Waited:
    """How a wait ended: the last look (None: destroyed), and whether time ran out first."""

    instance: Instance | None
    timed_out: bool

    @property
    def state(self) -> str:
        """The last state seen, `destroyed` when the instance is gone."""
        return "destroyed" if self.instance is None else self.instance.state


def wait_for(
    client: VastClient,
    instance_id: int,
    until: Callable[[Instance], bool],
    *,
    poll_s: float,
    timeout_s: float | None = None,
    ramp: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_look: Callable[[Instance | None], None] = lambda _inst: None,
) -> Waited:
    """Look (as `looks` does) until `until` holds or the instance is destroyed; `on_look` sees each look."""
    last: Instance | None = None
    how = looks(client, instance_id, poll_s=poll_s, timeout_s=timeout_s, ramp=ramp, sleep=sleep, clock=clock)
    for inst in how:
        on_look(inst)
        if inst is None or until(inst):
            return Waited(inst, False)
        last = inst
    return Waited(last, True)


def until_running(
    client: VastClient,
    instance_id: int,
    *,
    poll_s: float,
    timeout_s: float,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Follow a new instance until running, stopped, dead or destroyed, saying each state it passes; the
    last state. ApiError when it is still on its way after `timeout_s`."""
    seen: list[str | None] = ["?"]

    def tell(inst: Instance | None) -> None:
        if inst is None:
            say(f"instance {instance_id} is gone (finished and destroyed itself, or destroyed)")
        elif inst.actual_status != seen[-1]:
            why = f" ({inst.status_msg})" if inst.status_msg else ""
            say(f"instance {instance_id}: {inst.state}{why}")
            seen.append(inst.actual_status)

    # Early states pass quickly, so the looks ramp up to poll_s.
    waited = wait_for(
        client,
        instance_id,
        lambda inst: inst.settled,
        poll_s=poll_s,
        timeout_s=timeout_s,
        ramp=True,
        sleep=sleep,
        clock=clock,
        on_look=tell,
    )
    if waited.timed_out:
        raise ApiError(
            f"instance {instance_id} did not reach running within {format_duration(timeout_s)} "
            f"(last state {waited.state})",
            error="timeout",
        )
    return waited.state


def _opt_price(value: object) -> float | None:
    """A $/h as the API gives it, or None for a missing, non-numeric or negative one."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        return None
    return float(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
