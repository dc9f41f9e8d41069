"""The money bounds of a sweep: each run's worst case, the refusal of a sweep that could overspend, and the
test every launch passes (spent plus committed plus the new run's worst case within the budget)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vastjob.errors import UserError
from vastjob.spec.model import JobSpec
from vastjob.spec.sweep import Run, Sweep
from vastjob.text import format_duration

CENT = 0.005  # sums of dollars are compared to half a cent


class BudgetError(UserError):
    """A sweep whose worst case is over its budget: nothing was rented."""


def worst_case(job: JobSpec) -> float:
    """What a run may cost at most: its price cap (storage included) for all of its max_runtime.

    A sweep requires max_runtime of every run; a job without one has no worst case (infinite)."""
    if not job.run.max_runtime_s:
        return float("inf")
    return job.offer.max_price_per_hour * job.run.max_runtime_s / 3600


@dataclass(frozen=True)
class Bound:
    """One run's worst case and the two bounds that make it."""

    run: str
    price_cap: float
    max_runtime_s: int
    worst: float

    def text(self) -> str:
        """`name: $2.50/h x 12h = $30.00`."""
        return (
            f"{self.run}: ${self.price_cap:.2f}/h x {format_duration(self.max_runtime_s)} = ${self.worst:.2f}"
        )


def bounds(runs: Sequence[Run]) -> list[Bound]:
    """The runs' worst cases, largest first (the ones that drive the total)."""
    out = [
        Bound(r.name, r.job.offer.max_price_per_hour, r.job.run.max_runtime_s or 0, worst_case(r.job))
        for r in runs
    ]
    return sorted(out, key=lambda b: -b.worst)


def check_budget(sweep: Sweep, runs_left: Sequence[Run], spent: float) -> float:
    """The sweep's worst case (what was spent plus every run left at its worst); BudgetError when that is
    over the budget, saying by how much and which bounds drive it."""
    found = bounds(runs_left)
    total = spent + sum(b.worst for b in found)
    budget = sweep.policy.budget
    if total <= budget + CENT:
        return total
    shown = "; ".join(b.text() for b in found[:5]) + (
        f"; and {len(found) - 5} more" if len(found) > 5 else ""
    )
    already = f", ${spent:.2f} already spent," if spent > 0 else ""
    raise BudgetError(
        f"sweep {sweep.name}: the worst case is ${total:.2f}{already} over the budget of ${budget:.2f} by "
        f"${total - budget:.2f}. Each run may cost its offer.max_price_per_hour (storage included) for all "
        f"of its run.max_runtime: {shown}. Lower a cap or a max_runtime, remove runs, or raise sweep.budget "
        "(apply --within-budget starts only the runs the budget allows, as the others end)"
    )


def may_start(budget: float, spent: float, committed: float, worst: float) -> bool:
    """Whether a run whose worst case is `worst` may start: spent plus committed stays within the budget."""
    return spent + committed + worst <= budget + CENT
