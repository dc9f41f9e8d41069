"""The commands on a sweep spec (one with `matrix:`): `render`, `plan`, `apply`, `status` and `destroy`
take it whole; the single-job commands hand a sweep here."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastjob.cli._common import say
from vastjob.cli._vast import ask, connect

if TYPE_CHECKING:
    from vastjob.cli.results import Acted
    from vastjob.spec.model import JobSpec
    from vastjob.spec.sweep import Sweep
    from vastjob.vast.apply import ApplyOptions
    from vastjob.vast.client import VastClient
    from vastjob.vast.instance import Instance
    from vastjob.vast.sweep_record import SweepRecord
    from vastjob.vast.sweep_result import SweepResult


def sweep_at(ref: str, overrides: Sequence[str] = ()) -> Sweep | None:
    """The sweep a command's JOB argument names, or None when it is a single job (or a bare name)."""
    from vastjob.spec.load import load_spec
    from vastjob.spec.sweep import Sweep

    if not ref.endswith((".yaml", ".yml")) or not os.path.isfile(ref):
        return None
    spec = load_spec(ref, overrides)
    return spec if isinstance(spec, Sweep) else None


def pick_job(path: str, overrides: Sequence[str], run: str | None) -> tuple[JobSpec | None, Sweep | None]:
    """The job to show: a single job, one run of a sweep (`run`), or (None, the sweep) for every run."""
    from vastjob.errors import UserError
    from vastjob.spec.load import load_spec
    from vastjob.spec.sweep import Sweep

    spec = load_spec(path, overrides)
    if not isinstance(spec, Sweep):
        if run is not None:
            raise UserError(f"--run names a run of a sweep, and {path} is the single job {spec.name}")
        return spec, None
    return (spec.run(run).job, spec) if run is not None else (None, spec)


@dataclass(frozen=True)
class SweepPlan:
    """Each run's chosen offer and worst case, and the sweep's worst case against its budget."""

    sweep: Sweep
    rows: list[dict[str, Any]]
    worst: float
    spent: float

    def to_json(self) -> dict[str, Any]:
        """The sweep's policy, worst case and runs."""
        p = self.sweep.policy
        return {
            "sweep": self.sweep.name,
            "max_parallel": p.max_parallel,
            "on_failure": p.on_failure,
            "budget": p.budget,
            "spent": round(self.spent, 4),
            "worst_case": round(self.worst, 4),
            "runs": self.rows,
        }

    def render(self) -> str:
        """The runs as a table, then the worst case within the budget."""
        from vastjob.text import format_duration, table

        head = [["run", "values", "offer", "$/h", "cap", "max_runtime", "worst case"]]
        for r in self.rows:
            values = ", ".join(f"{k}={v}" for k, v in r["values"].items())
            price = "-" if r["price_per_hour"] is None else f"{r['price_per_hour']:.3f}"
            runtime = format_duration(r["max_runtime_s"])
            head.append(
                [
                    r["run"],
                    values,
                    str(r["offer"] or "none"),
                    price,
                    f"{r['cap']:.2f}",
                    runtime,
                    f"${r['worst_case']:.2f}",
                ]
            )
        p = self.sweep.policy
        return "\n".join(
            [
                f"sweep {self.sweep.name} ({self.sweep.source}): {len(self.rows)} runs, "
                f"{p.max_parallel} at a time, on_failure {p.on_failure}",
                "",
                table(head),
                "",
                f"worst case ${self.worst:.2f} (spent ${self.spent:.2f}) within the budget of "
                f"${p.budget:.2f}",
            ]
        )


def plan_sweep(sweep: Sweep, api_key: str | None) -> SweepPlan:
    """Refuse a sweep whose worst case is over its budget (no network), then search each run's offers."""
    from vastjob.compile import compile_job
    from vastjob.vast.account import resolve_base_url
    from vastjob.vast.budget import check_budget, worst_case
    from vastjob.vast.plan import make_plan
    from vastjob.vast.sweep_record import SweepRecord, record_path

    record = SweepRecord.load(record_path(sweep.name, resolve_base_url()), sweep.name)
    left = [r for r in sweep.runs if not ((rec := record.get(r.name, r.job.spec_hash)) and rec.ended)]
    worst = check_budget(sweep, left, record.spent)
    rows = []
    with connect(api_key) as client:
        for run in sweep.runs:
            chosen = make_plan(client, compile_job(run.job)).chosen
            rows.append(
                {
                    "run": run.name,
                    "values": dict(run.values),
                    "label": run.job.label,
                    "offer": chosen.offer.id if chosen else None,
                    "price_per_hour": round(chosen.price_per_hour, 4) if chosen else None,
                    "cap": run.job.offer.max_price_per_hour,
                    "max_runtime_s": run.job.run.max_runtime_s,
                    "worst_case": round(worst_case(run.job), 4),
                }
            )
    return SweepPlan(sweep, rows, worst, record.spent)


def apply_sweep(
    sweep: Sweep,
    opts: ApplyOptions,
    api_key: str | None,
    *,
    within_budget: bool,
    rerun_failed: bool = False,
    local: bool,
    sandbox: str | None,
) -> SweepResult:
    """Apply every run, against Vast or (with --local) an emulator started here for the whole sweep."""
    from vastjob.vast.sweep import SweepApplier
    from vastjob.vast.sweep_record import SweepRecord, record_path

    def confirm(question: str) -> bool:
        return ask(question)

    common: dict[str, Any] = {
        "within_budget": within_budget,
        "rerun_failed": rerun_failed,
        "say": say,
        "confirm": confirm,
    }

    if not local:
        from vastjob.vast.account import resolve_base_url

        record = SweepRecord.load(record_path(sweep.name, resolve_base_url()), sweep.name)
        return SweepApplier(sweep, lambda: connect(api_key), record, opts, **common).run()
    from vastjob.emulator import Emulator
    from vastjob.vast.client import RetryPolicy, VastClient

    where = Path(sandbox or tempfile.mkdtemp(prefix="vastjob-local-")).resolve()
    record = SweepRecord.load(where / "sweeps" / f"{sweep.name}.json", sweep.name)
    with Emulator(sandbox=where) as emu:
        say(f"local emulator at {emu.url}; instance sandboxes under {where}")

        def local_client() -> VastClient:
            return VastClient(emu.api_key, emu.url, retry=RetryPolicy(attempts=4, base_delay=0.05))

        return SweepApplier(sweep, local_client, record, opts, poll_s=0.5, **common).run()


def _instances(client: VastClient, sweep: Sweep) -> dict[str, list[Instance]]:
    """Each run's instances in the account (any spec hash), oldest first."""
    from vastjob.vast import labels
    from vastjob.vast.instance import Instance

    listed = client.list_instances()
    return {r.name: [Instance.from_api(i) for i in labels.of_job(listed, r.name)] for r in sweep.runs}


def _record(sweep: Sweep, client: VastClient) -> SweepRecord:
    from vastjob.vast.sweep_record import SweepRecord, record_path

    return SweepRecord.load(record_path(sweep.name, client.base_url), sweep.name)


def status_sweep(sweep: Sweep, api_key: str | None) -> SweepResult:
    """Every run's state, outcome, duration and cost, and the sweep's total."""
    from vastjob.vast.sweep_result import SweepResult

    with connect(api_key) as client:
        found = _instances(client, sweep)
        record = _record(sweep, client)
    from vastjob.vast.labels import parse_label

    hashes = {r.name: r.job.spec_hash for r in sweep.runs}
    live = {}
    for name, insts in found.items():
        same = [i for i in insts if (p := parse_label(i.label)) is not None and p.spec_hash == hashes[name]]
        if same:
            live[name] = same[-1]
    return SweepResult.of(sweep, record, "status", None, time.time(), live)


def destroy_sweep(sweep: Sweep, api_key: str | None, yes: bool) -> Acted:
    """Destroy the instances of every run (asking first unless `yes`); their records say so."""
    from vastjob.cli.results import Acted
    from vastjob.vast.lifecycle import destroy

    with connect(api_key) as client:
        found = {name: [i.id for i in insts] for name, insts in _instances(client, sweep).items() if insts}
        ids = [i for group in found.values() for i in group]
        if not ids:
            return Acted("destroyed", [], f"sweep {sweep.name}: no run has an instance")
        listed = ", ".join(map(str, ids))
        if not yes and not ask(f"destroy instance {listed} of sweep {sweep.name}, disks included?"):
            return Acted("destroyed", [], "nothing destroyed")
        record = _record(sweep, client)
        done: list[int] = []
        now = time.time()
        for name, group in found.items():
            done += destroy(client, name, group)
            for rec in record.runs.values():
                if rec.run == name and rec.instance_id in group and rec.outcome is None:
                    rec.ended_at, rec.state, rec.outcome = now, "destroyed", "destroyed"
                    rec.cost = min(rec.measure(now), rec.worst)
        record.save()
        return Acted("destroyed", done, "nothing destroyed")
