"""`vastjob reap`: the backstop off the box. One pass over every vastjob instance of the account ends
those past their deadline, those that never started, and those stopped for longer than they are kept;
everything else, and every instance whose label is not vastjob's, is left as it is.

A pass is idempotent (a second one finds nothing left to do) and safe from cron or CI: it decides from
one listing, destroys with verification (`vastjob.vast.destroy`), and its exit code is non-zero while an
instance it should end is still there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vastjob.errors import EXIT_API, EXIT_OK, ApiError
from vastjob.text import table
from vastjob.vast import labels
from vastjob.vast.client import VastClient
from vastjob.vast.destroy import DEFAULT, Patience, destroy_all
from vastjob.vast.hosts import BadHosts, gpu_check_failed
from vastjob.vast.instance import Instance
from vastjob.vast.lifecycle import disk_per_hour
from vastjob.vast.reap_rules import Verdict, judge

# The reasons that mean the host never ran the job: its machine is remembered as a bad host.
BAD_HOST_REASONS = frozenset({"never_started", "dead", "failed_status"})
LOG_TAIL = 200  # lines of a stopped instance's log read to see whether its gpu-check failed


@dataclass
class Reaped:
    """One instance reap ended (or, in a dry run, would end), and what became of it."""

    verdict: Verdict
    cost: float | None
    outcome: str = "would_destroy"  # would_destroy | destroyed | not_gone | failed

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        inst, verdict = self.verdict.instance, self.verdict
        parsed = labels.parse_label(inst.label)
        return {
            "id": inst.id,
            "job": parsed.name if parsed else None,
            "label": inst.label,
            "state": inst.state,
            "reason": verdict.reason,
            "why": verdict.why,
            "outcome": self.outcome,
            "cost_so_far": None if self.cost is None else round(self.cost, 4),
            "machine_id": inst.raw.get("machine_id"),
        }


@dataclass
class ReapResult:
    """What one pass did: the instances ended, those kept, and how many were not vastjob's."""

    dry_run: bool
    reaped: list[Reaped] = field(default_factory=list)
    kept: list[Verdict] = field(default_factory=list)
    left_alone: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """3 while an instance reap should have ended is still there; 0 otherwise (a dry run included)."""
        return EXIT_API if any(r.outcome in ("not_gone", "failed") for r in self.reaped) else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the ended, the kept (ids and why), and the vastjob labels left alone."""
        return {
            "dry_run": self.dry_run,
            "reaped": [r.to_json() for r in self.reaped],
            "kept": [{"id": v.instance.id, "state": v.instance.state, "why": v.why} for v in self.kept],
            "left_alone": [
                {"id": v.instance.id, "label": v.instance.label, "why": v.why}
                for v in self.left_alone
                if labels.is_vastjob(v.instance.label)
            ],
            "not_vastjob": sum(1 for v in self.left_alone if not labels.is_vastjob(v.instance.label)),
            "errors": self.errors,
        }

    def render(self) -> str:
        """A table of what was ended and what it had cost, then a line for the rest."""
        verb = "would destroy" if self.dry_run else "destroyed"
        lines = []
        if self.reaped:
            rows = [["id", "job", "state", "reason", "outcome", "cost so far"]]
            for r in self.reaped:
                j = r.to_json()
                cost = "-" if r.cost is None else f"~${r.cost:.2f}"
                rows.append([str(j["id"]), str(j["job"]), j["state"], r.verdict.why, j["outcome"], cost])
            lines.append(table(rows))
            total = sum(r.cost or 0.0 for r in self.reaped)
            lines.append(f"{verb} {len(self.reaped)} instance(s), ~${total:.2f} spent on them in all")
        else:
            lines.append("nothing to reap")
        others = len(self.left_alone) - sum(1 for v in self.left_alone if labels.is_vastjob(v.instance.label))
        lines.append(
            f"kept {len(self.kept)} vastjob instance(s); left alone {len(self.left_alone) - others} broken "
            f"vastjob label(s) and {others} instance(s) not vastjob's"
        )
        lines += self.errors
        return "\n".join(lines)


def cost_so_far(inst: Instance, now: float, created: int | None = None) -> float | None:
    """A rough cost of an instance so far: $/h over its life (from `created`, the label's, else Vast's
    `start_date`) while it runs, its disk's rate once stopped or dead (nothing says how long it ran)."""
    start = created if created is not None else inst.raw.get("start_date")
    if not isinstance(start, int | float) or not start:
        return None
    hours = max(0.0, now - float(start)) / 3600
    rate = disk_per_hour(inst.raw) if inst.gone else inst.dph_total
    return None if rate is None else rate * hours


def reap(
    client: VastClient,
    *,
    dry_run: bool = False,
    now: Callable[[], float] = time.time,
    patience: Patience = DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
    hosts: BadHosts | None = None,
) -> ReapResult:
    """One pass over the account's instances; `hosts` remembers each machine whose instance never ran
    (or whose gpu-check failed), unless this is a dry run."""
    at = now()
    from vastjob.vast.multinode import reap_overlays, with_whole_jobs

    verdicts = with_whole_jobs([judge(Instance.from_api(i), at) for i in client.list_instances()])
    result = ReapResult(dry_run)
    if hosts is not None and not dry_run:
        _check_gpus(client, verdicts, hosts, at)
    for v in verdicts:
        if v.action == "destroy":
            created = v.deadline.created if v.deadline else None
            result.reaped.append(Reaped(v, cost_so_far(v.instance, at, created)))
        elif v.action == "keep":
            result.kept.append(v)
        else:
            result.left_alone.append(v)
    if dry_run or not result.reaped:
        return result
    ids = [r.verdict.instance.id for r in result.reaped]
    outcome = destroy_all(client, ids, patience=patience, sleep=sleep)
    for r in result.reaped:
        inst = r.verdict.instance
        r.outcome = _outcome(inst.id, outcome.gone, outcome.left)
        machine = inst.raw.get("machine_id")
        if hosts is not None and r.verdict.reason in BAD_HOST_REASONS and isinstance(machine, int):
            hosts.remember(machine, f"instance {inst.id}: {r.verdict.why}")
    for instance_id, err in outcome.errors.items():
        result.errors.append(f"instance {instance_id}: destroy refused: {err}")
    gone = [r.verdict.instance for r in result.reaped if r.verdict.instance.id in outcome.gone]
    try:  # a multi-node job's overlay goes with its nodes
        reap_overlays(client, gone)
    except ApiError as err:
        result.errors.append(f"overlay of a reaped multi-node job: delete refused: {err}")
    if outcome.left:
        left = ", ".join(map(str, outcome.left))
        result.errors.append(f"instance {left} would not go: still there, still billed (exit 3)")
    return result


def _check_gpus(client: VastClient, verdicts: Sequence[Verdict], hosts: BadHosts, now: float) -> None:
    """Remember the machine of each recent stopped instance whose log says its gpu-check failed (the job
    stopped itself): its offer stays the cheapest. One log read per such instance, none once remembered."""
    known = hosts.active()
    for v in verdicts:
        inst, found = v.instance, v.deadline
        machine = inst.raw.get("machine_id")
        recent = found is not None and now - found.created < hosts.remember_s
        if v.action == "left_alone" or inst.actual_status != "stopped" or not recent:
            continue
        if not isinstance(machine, int) or machine in known:
            continue
        try:
            log = client.instance_logs(inst.id, tail=LOG_TAIL)
        except ApiError:
            continue  # no log to read: nothing learnt, nothing lost
        if gpu_check_failed(log):
            hosts.remember(machine, f"instance {inst.id}: gpu-check failed")
            known = hosts.active()


def _outcome(instance_id: int, gone: Sequence[int], left: Sequence[int]) -> str:
    if instance_id in gone:
        return "destroyed"
    return "not_gone" if instance_id in left else "failed"
