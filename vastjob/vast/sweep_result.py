"""What a sweep did or where it stands: one row per run (values, state, outcome, duration, cost) and the
sweep's total against its budget; the result of `apply SWEEP` and of `status SWEEP`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vastjob.errors import EXIT_OK, EXIT_USER
from vastjob.spec.sweep import Sweep
from vastjob.text import format_duration, table
from vastjob.vast.instance import Instance
from vastjob.vast.sweep_record import SweepRecord

_STOPPED = {
    "budget": "stopped by the budget: the next run's worst case would take the sweep over it",
    "failure": "stopped after a failed run (sweep.on_failure: stop)",
}


@dataclass(frozen=True)
class SweepResult:
    """A sweep's runs as rows, its total cost and budget, and why it stopped launching (if it did)."""

    sweep: str
    action: str  # done, dry_run, declined, status
    budget: float
    rows: list[dict[str, Any]]
    total: float
    stopped: str | None = None

    @classmethod
    def of(
        cls,
        sweep: Sweep,
        record: SweepRecord,
        action: str,
        stopped: str | None,
        now: float,
        live: Mapping[str, Instance] | None = None,
    ) -> SweepResult:
        """The rows of every run from its record, and from the instance seen now when `live` has one."""
        rows = []
        for run in sweep.runs:
            rec = record.get(run.name, run.job.spec_hash)
            inst = (live or {}).get(run.name)
            state = inst.state if inst is not None else (rec.state if rec else "pending")
            outcome = (
                rec.outcome
                if rec and rec.outcome
                else ("running" if inst or (rec and rec.created_at) else "-")
            )
            start = rec.created_at if rec else None
            duration = None if start is None else max(0.0, ((rec.ended_at if rec else None) or now) - start)
            cost = (rec.cost if rec.outcome else rec.measure(now)) if rec else 0.0
            rows.append(
                {
                    "run": run.name,
                    "values": dict(run.values),
                    "label": run.job.label,
                    "instance_id": inst.id if inst is not None else (rec.instance_id if rec else None),
                    "state": state,
                    "outcome": outcome,
                    "duration_s": None if duration is None else round(duration, 1),
                    "cost": round(cost, 4),
                    "note": rec.note if rec else None,
                }
            )
        others = sum(r.cost if r.outcome else r.measure(now) for r in record.runs.values())
        total = record.past + others
        return cls(sweep.name, action, sweep.policy.budget, rows, round(total, 4), stopped)

    @property
    def exit_code(self) -> int:
        """1 when a run failed or did not start, or the sweep stopped launching; 0 otherwise, and always 0
        for `status`, which only reports."""
        if self.action == "status":
            return EXIT_OK
        bad = any(r["outcome"] in ("failed", "not_started") for r in self.rows)
        return EXIT_USER if bad or self.stopped else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The sweep, its rows and its total."""
        return {
            "sweep": self.sweep,
            "action": self.action,
            "budget": self.budget,
            "total_cost": self.total,
            "stopped": self.stopped,
            "runs": self.rows,
        }

    def render(self) -> str:
        """The table of runs, then the total against the budget and why launching stopped."""
        head = [["run", "values", "state", "outcome", "duration", "cost"]]
        for r in self.rows:
            values = ", ".join(f"{k}={v}" for k, v in r["values"].items())
            duration = "-" if r["duration_s"] is None else format_duration(int(r["duration_s"]))
            head.append([r["run"], values, r["state"], r["outcome"], duration, _dollars(r["cost"])])
        counts = Counter(r["outcome"] for r in self.rows)
        said = ", ".join(f"{n} {'not started' if o == '-' else o}" for o, n in counts.items())
        lines = [table(head), "", f"sweep {self.sweep}: {len(self.rows)} runs ({said})"]
        lines.append(f"total ~{_dollars(self.total)} of its ${self.budget:.2f} budget")
        if self.stopped:
            lines.append(_STOPPED.get(self.stopped, self.stopped))
        if self.action == "dry_run":
            lines.append("dry run: nothing created")
        elif self.action == "declined":
            lines.append("nothing created")
        return "\n".join(lines)


def _dollars(amount: float) -> str:
    """Dollars to the cent, or to a hundredth of a cent under one cent (short runs cost that little)."""
    return f"${amount:.4f}" if 0 < amount < 0.01 else f"${amount:.2f}"
