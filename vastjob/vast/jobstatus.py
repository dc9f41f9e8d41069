"""The local job history completed and shown: from the API while an instance exists, from `logs:` after.

Every figure of cost is an estimate (the API's $/h times the time seen), GPU and storage apart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from vastjob.errors import ApiError
from vastjob.text import format_duration, table
from vastjob.vast import jobrecord
from vastjob.vast.client import VastClient
from vastjob.vast.instance import show
from vastjob.vast.jobrecord import JobRecord
from vastjob.vast.lifecycle import disk_per_hour
from vastjob.vast.outcome import read_outcome
from vastjob.vast.remote_read import read_remote


def complete(
    records: Sequence[JobRecord], client: VastClient | None, environ: Mapping[str, str] | None = None
) -> list[JobRecord]:
    """Each record brought up to date where it is not final yet: its instance's state and $/h from the API,
    and once the instance is gone (or has stopped), the outcome from what the job uploaded to `logs:`."""
    now = time.time()
    for rec in records:
        if rec.local or rec.outcome in ("succeeded", "failed"):
            continue
        if client is not None:
            try:
                inst = show(client, rec.instance_id)
            except ApiError:
                continue  # the API did not answer: the record stays as it was
            if inst is None:
                rec.state = "destroyed"
                rec.gone_at = rec.gone_at or now
            else:
                rec.state = inst.state
                rec.dph_total = inst.dph_total if inst.dph_total is not None else rec.dph_total
                rec.storage_per_hour = disk_per_hour(inst.raw) or rec.storage_per_hour
                if inst.gone and _outcome_from_api(rec, client):
                    jobrecord.save(rec, environ)
                    continue
        if rec.state in ("destroyed", "stopped", "exited") and rec.logs:
            _outcome_from_logs(rec, environ)
            rec.ended_at = rec.ended_at or now
        jobrecord.save(rec, environ)
    return list(records)


def _outcome_from_api(rec: JobRecord, client: VastClient) -> bool:
    """The outcome from a stopped instance's own log (its final line), when the API still has it."""
    try:
        told = read_outcome(None, client.instance_logs(rec.instance_id, tail=100_000))
    except ApiError:
        return False
    if told.outcome == "unknown":
        return False
    rec.outcome, rec.exit_code, rec.why = told.outcome, told.exit_code, told.why
    rec.ended_at = told.ended_at or rec.ended_at or time.time()
    return True


def _outcome_from_logs(rec: JobRecord, environ: Mapping[str, str] | None) -> None:
    result, why_result = read_remote(rec.result_destination() or "", rec.remotes, environ)
    log, why_log = read_remote(rec.log_destination() or "", rec.remotes, environ)
    told = read_outcome(result, log)
    rec.outcome, rec.exit_code, rec.ended_at = told.outcome, told.exit_code, told.ended_at or rec.ended_at
    if rec.dph_total is None:  # the price it was rented at, which its result carries
        rec.dph_total = told.dph_total
    rec.why = told.why if told.outcome != "unknown" else f"{told.why} ({why_result or why_log})"


def uploaded_log(rec: JobRecord, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The log the job uploaded to `logs:`, or None and why not."""
    where = rec.log_destination()
    if where is None:
        why = f"job {rec.job} has no `logs:` destination: its log went with instance {rec.instance_id}"
        return None, why
    return read_remote(where, rec.remotes, environ)


def history_row(rec: JobRecord, now: float) -> dict[str, Any]:
    """One applied instance of a job: outcome, duration, cost (estimate) and where its outputs went."""
    return {
        "job": rec.job,
        "instance": rec.instance_id,
        "spec_hash": rec.spec_hash,
        "local": rec.local,
        "state": rec.state,
        "outcome": rec.outcome or "running",
        "why": rec.why,
        "started_at": rec.created_at,
        "duration_s": int(rec.duration_s(now)),
        "cost_estimate": rec.cost(now),
        "dph_total": rec.dph_total,
        "outputs": dict(rec.outputs),
        "logs": rec.logs,
    }


def _money(value: float | None) -> str:
    return "?" if value is None else f"~${value:.4f}"


def history_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """History rows as a table (cost: an estimate from $/h and the times seen)."""
    if not rows:
        return "(no job applied from this machine)"
    out = [["job", "instance", "outcome", "duration", "cost (est.)", "outputs went to"]]
    for r in rows:
        where = ", ".join(f"{k} -> {v}" for k, v in r["outputs"].items()) or "-"
        if r["logs"]:
            where += f"; log -> {r['logs']}/{r['instance']}/"
        outcome = r["outcome"] + (" (local)" if r["local"] else "")
        duration = format_duration(r["duration_s"])
        cost = _money(r["cost_estimate"]["total"])
        out.append([r["job"], str(r["instance"]), outcome, duration, cost, where])
    return table(out)


def cost_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """What each instance cost while it existed, GPU and storage apart; every figure an estimate."""
    if not rows:
        return "(no job applied from this machine)"
    out = [["job", "instance", "$/h", "duration", "GPU", "storage", "total"]]
    total = 0.0
    for r in rows:
        c = r["cost_estimate"]
        rate = "?" if r["dph_total"] is None else f"{r['dph_total']:.3f}"
        out.append(
            [
                r["job"],
                str(r["instance"]),
                rate,
                format_duration(r["duration_s"]),
                _money(c["gpu"]),
                _money(c["storage"]),
                _money(c["total"]),
            ]
        )
        total += c["total"] or 0.0
    return table(out) + f"\nin all ~${total:.4f} (an estimate from the API's $/h and the times seen)"
