"""What apply is about to do, as text and as JSON: the job, its steps, the offers, the secret names.

`make_plan` is the one search -> select -> plan that `offers`, `plan` and `apply` share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastjob.spec.model import JobSpec
from vastjob.text import format_duration, table
from vastjob.vast.deadline import INTERRUPTIBLE_FACTOR, run_bound_s
from vastjob.vast.hosts import BadHost, avoid
from vastjob.vast.query import Candidate, build_query, select, with_disk
from vastjob.vast.secrets import Secrets

if TYPE_CHECKING:
    from vastjob.compile import Compiled, StepGraph
    from vastjob.compile.transport import Budget
    from vastjob.vast.client import VastClient
    from vastjob.vast.decide import Decision

RUNNERS_UP = 4


@dataclass(frozen=True)
class Plan:
    """A compiled job, the offers that passed every filter (best first), and what will be sent."""

    compiled: Compiled
    candidates: Sequence[Candidate]
    searched: int = 0
    secrets: Secrets | None = None
    skipped: Sequence[Candidate] = ()  # offers on machines remembered as bad hosts
    bad_hosts: Mapping[int, BadHost] = field(default_factory=dict)
    decision: Decision | None = None  # what apply will do with the job's instances, when they were looked at
    budget: Budget | None = None  # what the create body takes of Vast's limits

    @property
    def job(self) -> JobSpec:
        """The job, pinned when apply pinned it."""
        return self.compiled.job

    @property
    def chosen(self) -> Candidate | None:
        """The offer apply tries first."""
        return self.candidates[0] if self.candidates else None

    def secret_names(self) -> list[str]:
        """The names of the secrets that travel in the instance's env (never their values)."""
        return list(self.job.secret_names)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready plan."""
        job, runtime = self.job, self.job.run.max_runtime_s
        return {
            "job": job_summary(job),
            "action": self.decision.to_json() if self.decision else None,
            "steps": graph_rows(self.compiled.graph),
            "searched": self.searched,
            "matched": len(self.candidates),
            "chosen": self.chosen.to_json(runtime) if self.chosen else None,
            "runners_up": [c.to_json(runtime) for c in self.candidates[1 : 1 + RUNNERS_UP]],
            "secrets": [
                {"name": n, "from": (self.secrets.origins.get(n, "missing") if self.secrets else None)}
                for n in self.secret_names()
            ],
            "skipped_bad_hosts": [
                {"offer": c.offer.id, **self.bad_hosts[int(c.offer.raw["machine_id"])].to_json()}
                for c in self.skipped
            ],
            "budget": self.budget.to_json() if self.budget else None,
        }

    def render(self) -> str:
        """The plan as text."""
        job = self.job
        s = job_summary(job)
        lines = [
            f"job {job.name} ({job.source})",
            f"  label     {job.label}",
            *(f"  {line}" for line in (self.decision.render() if self.decision else [])),
            f"  image     {s['image']}, disk {s['disk_gb']:g} GB",
        ]
        if job.repo is not None:
            lines.append(f"  repo      {s['repo']}")
        lines += [
            f"  run       {job.run.command}",
            "  runtime   "
            + (
                f"at most {format_duration(job.run.max_runtime_s)}"
                if job.run.max_runtime_s
                else "no limit: a run that hangs bills until stopped (set run.max_runtime)"
            ),
            f"  deadline  {deadline_text(job)}",
            f"  shutdown  success: {job.shutdown.on_success}, failure: {job.shutdown.on_failure}",
            f"  cap       ${job.offer.max_price_per_hour:.2f}/h (storage included)",
            *([f"  budget    {self.budget.summary()} ({self.budget.form} form)"] if self.budget else []),
            "",
            "steps",
        ]
        for row in graph_rows(self.compiled.graph):
            timeout = f", timeout {format_duration(row['timeout_s'])}" if row["timeout_s"] else ""
            lines.append(
                f"  {row['id']:<24} needs {', '.join(row['needs']) or '-'}; retries {row['retries']}{timeout}"
            )
        lines += ["", f"offers ({len(self.candidates)} of {self.searched} found pass the filters)"]
        shown = list(self.candidates[: 1 + RUNNERS_UP])
        lines += [
            "  " + row for row in offers_table(shown, job.run.max_runtime_s, mark_first=True).splitlines()
        ]
        for c in self.skipped:
            bad = self.bad_hosts[int(c.offer.raw["machine_id"])]
            lines.append(f"  skipped offer {c.offer.id}: machine {bad.machine_id} failed lately ({bad.why})")
        origins = self.secrets.origins if self.secrets else {}
        names = [f"{n} ({origins.get(n, 'missing')})" for n in self.secret_names()]
        lines += [
            "",
            "secrets sent in the instance env (values never shown): " + (", ".join(names) or "none"),
        ]
        return "\n".join(lines)


def make_plan(
    client: VastClient,
    compiled: Compiled,
    secrets: Secrets | None = None,
    budget: Budget | None = None,
    bad_hosts: Mapping[int, BadHost] | None = None,
) -> Plan:
    """Search the offers for a compiled job, keep and rank those within its filters and cap, and skip
    those on machines remembered as bad hosts: the plan (with the budget of the create body, when given)."""
    job = compiled.job
    disk = job.instance.disk_gb
    found = client.search_offers(build_query(job.offer, disk))
    ranked = select(with_disk(found, disk), job.offer, disk)
    kept, skipped = avoid(ranked, bad_hosts or {})
    plan = Plan(compiled, kept, len(found), secrets, skipped, dict(bad_hosts or {}), budget=budget)
    if job.nodes > 1:
        from vastjob.vast.cluster_plan import cluster_plan

        return cluster_plan(plan)  # N offers of one cluster; refused when no cluster seen has N
    return plan


def job_summary(job: JobSpec) -> dict[str, Any]:
    """The resolved job in a few fields; `commit` is the one apply pinned, if any."""
    repo = None
    if job.repo is not None:
        pinned = job.pinned_commit
        repo = f"{job.repo.url} @ {job.repo.ref}" + (
            f" (pinned to {pinned[:12]})" if pinned else " (not pinned)"
        )
    return {
        "name": job.name,
        "source": job.source,
        "label": job.label,
        "spec_hash": job.spec_hash,
        "image": job.instance.image,
        "disk_gb": job.instance.disk_gb,
        "repo": repo,
        "commit": job.commit,
        "gpu": {
            "names": list(job.offer.gpu.names),
            "count": job.offer.gpu.count,
            "min_vram_gb": job.offer.gpu.min_vram_gb,
        },
        "max_price_per_hour": job.offer.max_price_per_hour,
        "max_runtime_s": job.run.max_runtime_s,
        "shutdown": {"on_success": job.shutdown.on_success, "on_failure": job.shutdown.on_failure},
        "deadline_after_s": run_bound_s(job) + job.shutdown.boot_allowance_s,
        "boot_allowance_s": job.shutdown.boot_allowance_s,
        "keep_stopped_for_s": job.shutdown.keep_stopped_for_s,
    }


def deadline_text(job: JobSpec) -> str:
    """When an instance of the job must be gone, in words: what its label will carry."""
    bound = format_duration(run_bound_s(job))
    why = "max_runtime" if job.run.max_runtime_s else "no max_runtime: the default bound"
    if job.offer.interruptible:
        why += f" x{INTERRUPTIBLE_FACTOR}, interruptible"
    return (
        f"created + {bound} ({why}) + {format_duration(job.shutdown.boot_allowance_s)} boot allowance; "
        f"`vastjob reap` ends it after that, a stopped one after "
        f"{format_duration(job.shutdown.keep_stopped_for_s)}"
    )


def graph_rows(graph: StepGraph) -> list[dict[str, Any]]:
    """Each step of a job's graph in the compiler's order: id, needs, retries, timeout."""
    return [
        {"id": s.id, "needs": list(s.needs), "retries": s.retries, "timeout_s": s.timeout_s}
        for s in graph.steps
    ]


def offers_table(
    candidates: Sequence[Candidate], max_runtime_s: int | None, *, mark_first: bool = False
) -> str:
    """Candidates as a table: id, GPUs, VRAM, $/h, reliability, inet, location, cost for the runtime."""
    cost_head = f"cost/{format_duration(max_runtime_s)}" if max_runtime_s else "cost"
    rows = [["", "offer", "gpus", "vram", "$/h", "reliab", "inet", "location", cost_head]]
    for index, c in enumerate(candidates):
        o = c.offer
        cost = c.cost_for(max_runtime_s)
        rows.append(
            [
                "*" if mark_first and index == 0 else "",
                str(o.id),
                f"{o.num_gpus}x {o.gpu_name}",
                f"{o.vram_gib:.0f} GiB",
                f"{c.price_per_hour:.3f}" + (" bid" if c.bid else ""),
                f"{o.reliability:.3f}",
                f"{o.inet_down:.0f}",
                o.geolocation or "?",
                "-" if cost is None else f"${cost:.2f}",
            ]
        )
    return table(rows) if candidates else "(no offer matches)"
