"""`status`, `logs`, `stop` and `destroy`: a job's instances, found by their label, and what they cost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from vastjob.errors import UserError
from vastjob.vast import labels
from vastjob.vast.client import VastClient

GONE_STATES = frozenset({"stopped", "exited", "offline"})


def find(client: VastClient, name: str | None) -> list[dict[str, Any]]:
    """The instances of job `name`, or of every vastjob job when name is None, oldest first."""
    return labels.of_job(client.list_instances(), name)


def require(client: VastClient, name: str) -> list[dict[str, Any]]:
    """Like `find`, but a job with no instance is a user error."""
    found = find(client, name)
    if not found:
        raise UserError(f"job {name} has no instance (none labelled {labels.job_prefix(name)}*)")
    return found


def status_row(inst: Mapping[str, Any], now: float, spec_hash: str | None = None) -> dict[str, Any]:
    """One instance's state, price, uptime and an estimate of what it has cost since it started."""
    parsed = labels.parse_label(inst.get("label"))
    start = inst.get("start_date")
    uptime = max(0.0, now - float(start)) if isinstance(start, int | float) and start else None
    dph = float(inst.get("dph_total") or 0.0)
    return {
        "id": inst.get("id"),
        "job": parsed.name if parsed else None,
        "spec_hash": parsed.spec_hash if parsed else None,
        "current": None if spec_hash is None or parsed is None else parsed.spec_hash == spec_hash,
        "state": inst.get("actual_status") or "provisioning",
        "intended": inst.get("intended_status"),
        "gpu": f"{inst.get('num_gpus') or '?'}x {inst.get('gpu_name') or '?'}",
        "dph_total": dph,
        "uptime_s": None if uptime is None else int(uptime),
        "cost_so_far": None if uptime is None else round(dph * uptime / 3600, 4),
        "status_msg": inst.get("status_msg"),
    }


def status_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Status rows as an aligned table."""
    if not rows:
        return "(no vastjob instance)"
    table = [["id", "job", "spec", "state", "gpus", "$/h", "uptime", "cost so far"]]
    for r in rows:
        spec = str(r["spec_hash"]) + (
            "" if r["current"] is None else (" (current)" if r["current"] else " (old)")
        )
        table.append(
            [
                str(r["id"]),
                str(r["job"]),
                spec,
                str(r["state"]),
                str(r["gpu"]),
                f"{r['dph_total']:.3f}",
                _duration(r["uptime_s"]),
                "-" if r["cost_so_far"] is None else f"~${r['cost_so_far']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def stop(client: VastClient, name: str) -> list[int]:
    """Stop every instance of a job that is not stopped yet; their disks are kept (and still billed)."""
    stopped = []
    for inst in require(client, name):
        if inst.get("actual_status") != "stopped" or inst.get("intended_status") == "running":
            client.set_state(int(inst["id"]), "stopped")
            stopped.append(int(inst["id"]))
    return stopped


def destroy(client: VastClient, name: str) -> list[int]:
    """Destroy every instance of a job, ending all their charges."""
    ids = [int(inst["id"]) for inst in require(client, name)]
    for instance_id in ids:
        client.destroy_instance(instance_id)
    return ids


def newest(client: VastClient, name: str) -> dict[str, Any]:
    """The job's most recent instance (the highest id)."""
    return require(client, name)[-1]


def follow_logs(
    client: VastClient,
    instance_id: int,
    *,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    window: int = 100_000,
) -> Iterator[str]:
    """New log lines of an instance as they come, until it is stopped or gone."""
    printed = 0
    while True:
        inst = client.show_instance(instance_id)
        if inst is None:
            return
        lines = client.instance_logs(instance_id, tail=window).splitlines()
        # The log only grows, so the lines past the count already printed are the new ones.
        yield from lines[printed:] if len(lines) >= printed else lines
        printed = len(lines)
        if inst.get("actual_status") in GONE_STATES:
            return
        sleep(poll_s)


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
