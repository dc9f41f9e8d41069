"""What apply is about to do, as text and as JSON: the job, its steps, the offers, the secret names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vastjob.spec.model import JobSpec
from vastjob.vast.query import Candidate
from vastjob.vast.secrets import Secrets, required_names

if TYPE_CHECKING:
    from vastjob.compile.transport import Budget

RUNNERS_UP = 4


@dataclass(frozen=True)
class Plan:
    """A job, the offers that passed every filter (best first), and what will be sent."""

    job: JobSpec
    candidates: Sequence[Candidate]
    searched: int = 0
    commit: str | None = None
    secrets: Secrets | None = None
    budget: Budget | None = None  # what the create body takes of Vast's limits

    @property
    def chosen(self) -> Candidate | None:
        """The offer apply tries first."""
        return self.candidates[0] if self.candidates else None

    def secret_names(self) -> list[str]:
        """The names of the secrets that travel in the instance's env (never their values)."""
        return required_names(self.job)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready plan."""
        job, runtime = self.job, self.job.run.max_runtime_s
        return {
            "job": job_summary(job, self.commit),
            "steps": graph_rows(job, self.commit),
            "searched": self.searched,
            "matched": len(self.candidates),
            "chosen": self.chosen.to_json(runtime) if self.chosen else None,
            "runners_up": [c.to_json(runtime) for c in self.candidates[1 : 1 + RUNNERS_UP]],
            "secrets": [
                {"name": n, "from": (self.secrets.origins.get(n, "missing") if self.secrets else None)}
                for n in self.secret_names()
            ],
            "budget": self.budget.to_json() if self.budget else None,
        }

    def render(self) -> str:
        """The plan as text."""
        job = self.job
        s = job_summary(job, self.commit)
        lines = [
            f"job {job.name} ({job.source})",
            f"  label     {job.label}",
            f"  image     {s['image']}, disk {s['disk_gb']:g} GB",
        ]
        if job.repo is not None:
            lines.append(f"  repo      {s['repo']}")
        lines += [
            f"  run       {job.run.command}",
            "  runtime   "
            + (
                f"at most {_hours(job.run.max_runtime_s)}"
                if job.run.max_runtime_s
                else "no limit: a run that hangs bills until stopped (set run.max_runtime)"
            ),
            f"  shutdown  success: {job.shutdown.on_success}, failure: {job.shutdown.on_failure}",
            f"  cap       ${job.offer.max_price_per_hour:.2f}/h (storage included)",
            *([f"  budget    {self.budget.summary()} ({self.budget.form} form)"] if self.budget else []),
            "",
            "steps",
        ]
        for row in graph_rows(job, self.commit):
            timeout = f", timeout {_hours(row['timeout_s'])}" if row["timeout_s"] else ""
            lines.append(
                f"  {row['id']:<24} needs {', '.join(row['needs']) or '-'}; retries {row['retries']}{timeout}"
            )
        lines += ["", f"offers ({len(self.candidates)} of {self.searched} found pass the filters)"]
        shown = list(self.candidates[: 1 + RUNNERS_UP])
        lines += [
            "  " + row for row in offers_table(shown, job.run.max_runtime_s, mark_first=True).splitlines()
        ]
        origins = self.secrets.origins if self.secrets else {}
        names = [f"{n} ({origins.get(n, 'missing')})" for n in self.secret_names()]
        lines += [
            "",
            "secrets sent in the instance env (values never shown): " + (", ".join(names) or "none"),
        ]
        return "\n".join(lines)


def job_summary(job: JobSpec, commit: str | None = None) -> dict[str, Any]:
    """The resolved job in a few fields."""
    repo = None
    if job.repo is not None:
        pinned = commit or job.repo.commit
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
        "commit": commit,
        "gpu": {
            "names": list(job.offer.gpu.names),
            "count": job.offer.gpu.count,
            "min_vram_gb": job.offer.gpu.min_vram_gb,
        },
        "max_price_per_hour": job.offer.max_price_per_hour,
        "max_runtime_s": job.run.max_runtime_s,
        "shutdown": {"on_success": job.shutdown.on_success, "on_failure": job.shutdown.on_failure},
    }


def graph_rows(job: JobSpec, commit: str | None = None) -> list[dict[str, Any]]:
    """Each step of the job's graph in the compiler's order: id, needs, retries, timeout."""
    from vastjob.compile import build_graph

    graph = build_graph(job, commit=commit)
    return [
        {"id": s.id, "needs": list(s.needs), "retries": s.retries, "timeout_s": s.timeout_s}
        for s in graph.steps
    ]


def offers_table(
    candidates: Sequence[Candidate], max_runtime_s: int | None, *, mark_first: bool = False
) -> str:
    """Candidates as a table: id, GPUs, VRAM, $/h, reliability, inet, location, cost for the runtime."""
    cost_head = f"cost/{_hours(max_runtime_s)}" if max_runtime_s else "cost"
    rows = [["", "offer", "gpus", "vram", "$/h", "reliab", "inet", "location", cost_head]]
    for index, c in enumerate(candidates):
        o = c.offer
        cost = c.cost_for(max_runtime_s)
        rows.append(
            [
                "*" if mark_first and index == 0 else "",
                str(o.id),
                f"{o.num_gpus}x {o.gpu_name}",
                f"{o.gpu_ram_mb / 1000:.0f} GB",
                f"{c.price_per_hour:.3f}" + (" bid" if c.bid else ""),
                f"{o.reliability:.3f}",
                f"{o.inet_down:.0f}",
                o.geolocation or "?",
                "-" if cost is None else f"${cost:.2f}",
            ]
        )
    if not candidates:
        return "(no offer matches)"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _hours(seconds: int | None) -> str:
    if seconds is None:
        return "unbounded"
    if seconds < 3600:
        return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if rest else f"{hours}h"
