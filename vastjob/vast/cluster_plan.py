"""The plan of a multi-node job: N offers within one physical cluster (`cluster_id`), each within the
per-node cap, chosen where the whole job costs least; the cluster, the N offers and the whole cost shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from vastjob.errors import UserError
from vastjob.text import format_duration
from vastjob.vast.plan import Plan, offers_table
from vastjob.vast.query import Candidate


def cluster_of(cand: Candidate) -> int | None:
    """The physical cluster an offer belongs to, or None outside any cluster."""
    value = cand.offer.raw.get("cluster_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ClusterPlan(Plan):
    """A plan whose job runs on `len(nodes)` offers of cluster `cluster_id`; `spares` are the cluster's other
    matching offers, best first, which apply falls back on when one of the nodes' offers is gone."""

    cluster_id: int = 0
    nodes: Sequence[Candidate] = ()
    spares: Sequence[Candidate] = ()

    @property
    def chosen(self) -> Candidate | None:
        """Rank 0's offer."""
        return self.nodes[0] if self.nodes else None

    @property
    def price_per_hour(self) -> float:
        """What the whole job costs an hour: every node, storage included."""
        return sum(c.price_per_hour for c in self.nodes)

    def whole_cost(self) -> float | None:
        """What the whole job costs for its max_runtime (None without one)."""
        runtime = self.job.run.max_runtime_s
        return None if runtime is None else self.price_per_hour * runtime / 3600

    def to_json(self) -> dict[str, Any]:
        """The single-node plan's fields, with the cluster, every node's offer and the whole cost."""
        runtime = self.job.run.max_runtime_s
        out = super().to_json()
        out["cluster"] = {
            "cluster_id": self.cluster_id,
            "nodes": [c.to_json(runtime) for c in self.nodes],
            "price_per_hour": round(self.price_per_hour, 6),
            "cost": None if self.whole_cost() is None else round(self.whole_cost() or 0.0, 6),
        }
        return out

    def render(self) -> str:
        """The plan as text, then the cluster, its N offers (rank 0 first) and what the whole job costs."""
        runtime = self.job.run.max_runtime_s
        cost = self.whole_cost()
        total = f"${self.price_per_hour:.3f}/h for the whole job"
        if cost is not None:
            total += f", ${cost:.2f} for {format_duration(runtime or 0)}"
        lines = [
            super().render(),
            "",
            f"cluster {self.cluster_id}: {len(self.nodes)} nodes, one overlay network ({total})",
        ]
        lines += ["  " + row for row in offers_table(list(self.nodes), runtime).splitlines()]
        return "\n".join(lines)


def cluster_plan(plan: Plan) -> ClusterPlan:
    """The cluster where `nodes` matching offers cost least together; UserError when no cluster seen has
    that many (a plan-time refusal: the market, not the spec, cannot meet it)."""
    n = plan.job.nodes
    by_cluster: dict[int, list[Candidate]] = {}
    for cand in plan.candidates:  # best first: each cluster's list keeps the ranking
        cluster = cluster_of(cand)
        if cluster is not None:
            by_cluster.setdefault(cluster, []).append(cand)
    fits = {k: v for k, v in by_cluster.items() if len(v) >= n}
    if not fits:
        largest = max((len(v) for v in by_cluster.values()), default=0)
        cap = plan.job.offer.max_price_per_hour
        raise UserError(
            f"job {plan.job.name} needs {n} nodes in one cluster within ${cap:.2f}/h each; the largest "
            f"cluster seen has {largest} matching offer(s) ({len(by_cluster)} cluster(s) among "
            f"{len(plan.candidates)} matching offers): lower nodes, or widen the offer filters"
        )
    best = min(fits, key=lambda k: (sum(c.price_per_hour for c in fits[k][:n]), k))
    members = fits[best]
    # The nodes lead the offers shown (rank 0 is the one marked), then every other match as ranked.
    taken = {c.offer.id for c in members[:n]}
    ordered = [*members[:n], *(c for c in plan.candidates if c.offer.id not in taken)]
    shared = {f.name: getattr(plan, f.name) for f in fields(Plan)}
    return ClusterPlan(
        **{**shared, "candidates": ordered},
        cluster_id=best,
        nodes=tuple(members[:n]),
        spares=tuple(members[n:]),
    )
