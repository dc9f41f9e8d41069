"""`status`, `logs`, `stop` and `destroy`: a job's instances, found by their label, and what they cost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from vastjob.errors import ApiError, UserError
from vastjob.text import format_duration, table
from vastjob.vast import deadline, labels
from vastjob.vast.client import VastClient
from vastjob.vast.destroy import DEFAULT as DEFAULT_PATIENCE
from vastjob.vast.destroy import Patience, destroy_all
from vastjob.vast.instance import Instance, looks
from vastjob.vast.query import HOURS_PER_MONTH


def find(client: VastClient, name: str | None) -> list[Instance]:
    """The instances of job `name`, or of every vastjob job when name is None, oldest first."""
    return [Instance.from_api(i) for i in labels.of_job(client.list_instances(), name)]


def require(client: VastClient, name: str) -> list[Instance]:
    """Like `find`, but a job with no instance is a user error."""
    found = find(client, name)
    if not found:
        raise UserError(f"job {name} has no instance (none labelled {labels.job_prefix(name)}*)")
    return found


def status_row(inst: Instance, now: float, spec_hash: str | None = None) -> dict[str, Any]:
    """One instance's state, price, uptime and an estimate of what it has cost since it started."""
    parsed = labels.parse_label(inst.label)
    start = inst.raw.get("start_date")
    uptime = max(0.0, now - float(start)) if isinstance(start, int | float) and start else None
    dph = inst.dph_total
    # Stopped (or dead) instances bill only their disk, and nothing says how long they ran before: the
    # running estimate would charge them $/h for all their life, so they get no estimate.
    disk_only = inst.gone
    billing = disk_per_hour(inst.raw) if disk_only else dph
    return {
        "id": inst.raw.get("id"),
        "job": parsed.name if parsed else None,
        "spec_hash": parsed.spec_hash if parsed else None,
        "current": None if spec_hash is None or parsed is None else parsed.spec_hash == spec_hash,
        "state": inst.state,
        "intended": inst.intended_status,
        "gpu": f"{inst.raw.get('num_gpus') or '?'}x {inst.raw.get('gpu_name') or '?'}",
        "dph_total": dph,
        "billing_per_hour": None if billing is None else round(billing, 6),
        "disk_only": disk_only,
        "uptime_s": None if uptime is None else int(uptime),
        "cost_so_far": None if uptime is None or disk_only or dph is None else round(dph * uptime / 3600, 4),
        "status_msg": inst.status_msg,
        **deadline_fields(parsed, now),
    }


def deadline_fields(parsed: labels.Label | None, now: float) -> dict[str, Any]:
    """The deadline the label carries and the seconds left; None for both when it carries none (an
    instance created before labels had deadlines) or an unreadable one."""
    try:
        found = deadline.of_label(parsed) if parsed is not None else None
    except deadline.BadDeadline:
        found = None
    return {
        "deadline": None if found is None else found.deadline,
        "left_s": None if found is None else found.left(now),
    }


def disk_per_hour(inst: Mapping[str, Any]) -> float | None:
    """What an instance's disk costs an hour, billed even while it is stopped; None when not given."""
    quoted = inst.get("storage_total_cost")
    if isinstance(quoted, int | float):
        return float(quoted)
    per_gb_month, disk = inst.get("storage_cost"), inst.get("disk_space")
    if isinstance(per_gb_month, int | float) and isinstance(disk, int | float):
        return float(per_gb_month) * float(disk) / HOURS_PER_MONTH
    return None


def status_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Status rows as an aligned table."""
    if not rows:
        return "(no vastjob instance)"
    rows_out = [["id", "job", "spec", "state", "gpus", "$/h now", "uptime", "cost so far", "deadline"]]
    for r in rows:
        spec = str(r["spec_hash"]) + (
            "" if r["current"] is None else (" (current)" if r["current"] else " (old)")
        )
        rows_out.append(
            [
                str(r["id"]),
                str(r["job"]),
                spec,
                str(r["state"]),
                str(r["gpu"]),
                _rate(r),
                "-" if r["disk_only"] or r["uptime_s"] is None else format_duration(r["uptime_s"]),
                "-" if r["cost_so_far"] is None else f"~${r['cost_so_far']:.2f}",
                _deadline(r),
            ]
        )
    return table(rows_out)


def stop(client: VastClient, name: str) -> list[int]:
    """Stop every instance of a job that is not stopped yet; their disks are kept (and still billed)."""
    ids = [inst.id for inst in require(client, name) if inst.stoppable]
    return _each(ids, lambda i: client.set_state(i, "stopped"), "stop", name)


def destroy(
    client: VastClient,
    name: str,
    ids: Sequence[int] | None = None,
    *,
    patience: Patience = DEFAULT_PATIENCE,
    sleep: Callable[[float], None] = time.sleep,
) -> list[int]:
    """Destroy every instance of a job (or just `ids`, the ones the user confirmed), ending their charges;
    each is read back until it is gone for good (`vastjob.vast.destroy`)."""
    found = require(client, name) if ids is None else []
    targets = list(ids) if ids is not None else [inst.id for inst in found]
    outcome = destroy_all(client, targets, patience=patience, sleep=sleep)
    done = ", ".join(map(str, outcome.gone)) or "none"
    if outcome.errors:
        first = next(iter(outcome.errors.values()))
        left = ", ".join(str(i) for i in [*outcome.errors, *outcome.left])
        raise ApiError(
            f"could not destroy instance {left} of job {name} (still billed as before; run "
            f"`vastjob destroy {name}` again); destroy done for: {done}\n{first}",
            status=first.status,
            error=first.error,
            msg=first.msg,
        )
    outcome.raise_if_left(f" (job {name}; destroy done for: {done})")
    from vastjob.vast.multinode import rank_of
    from vastjob.vast.overlays import delete_job_overlays

    if any(rank_of(inst) is not None for inst in found):
        delete_job_overlays(client, name)  # a multi-node job's overlay goes with its last node
    return outcome.gone


def _each(ids: Sequence[int], action: Callable[[int], None], verb: str, name: str) -> list[int]:
    """Apply an action to every instance; one failure does not stop the others, as each one left costs.

    The error names the instances done and those still as they were.
    """
    done: list[int] = []
    failed: list[tuple[int, ApiError]] = []
    for instance_id in ids:
        try:
            action(instance_id)
        except ApiError as err:
            failed.append((instance_id, err))
        else:
            done.append(instance_id)
    if failed:
        first = failed[0][1]
        left = ", ".join(str(i) for i, _ in failed)
        raise ApiError(
            f"could not {verb} instance {left} of job {name} (still billed as before; run "
            f"`vastjob {verb} {name}` again); {verb} done for: {', '.join(map(str, done)) or 'none'}"
            f"\n{first}",
            status=first.status,
            error=first.error,
            msg=first.msg,
        )
    return done


def newest(client: VastClient, name: str, spec_hash: str | None = None) -> Instance:
    """The instance whose log a user means: the newest running one of the current spec (`spec_hash`),
    else the newest running one, else the newest of any state (the highest id)."""
    found = require(client, name)
    running = [i for i in found if i.alive]
    spec = labels.Label(name, spec_hash).spec if spec_hash else None
    current = [i for i in running if spec and labels.spec_of(i.label) == spec]
    return (current or running or found)[-1]


def follow_logs(
    client: VastClient,
    instance_id: int,
    *,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    window: int = 100_000,
    skip_first: bool = False,
) -> Iterator[str]:
    """New log lines of an instance as they come, until it is stopped or gone (`skip_first`: not the lines
    already there at the first look, only those written after it)."""
    seen: list[str] = []
    first = True
    for inst in looks(client, instance_id, poll_s=poll_s, sleep=sleep):
        if inst is None:
            return
        try:
            lines = client.instance_logs(instance_id, tail=window).splitlines()
        except ApiError:
            # Destroyed since the look above (a job that destroys itself on success ends so): its logs
            # answer an error whose code the API does not fix, so look again rather than read the code.
            if client.show_instance(instance_id) is None:
                return
            raise
        if not (first and skip_first):
            yield from new_lines(seen, lines)
        seen, first = lines, False
        if inst.gone:
            return


def new_lines(previous: Sequence[str], current: Sequence[str]) -> Sequence[str]:
    """The lines of a log's latest tail that follow those of the tail read before.

    Once a log is longer than the tail asked for, each tail is a window that slides: the new lines are
    those after the longest run of the previous window's last lines that starts the current one.
    """
    if current[: len(previous)] == previous:
        return current[len(previous) :]
    for k in range(min(len(previous), len(current)) - 1, 0, -1):
        if previous[-k] == current[0] and previous[-k:] == current[:k]:
            return current[k:]
    return current


def _deadline(row: Mapping[str, Any]) -> str:
    if row.get("deadline") is None:
        return "-"
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row["deadline"]))
    return f"{when} UTC ({deadline.describe_left(int(row['left_s']))})"


def _rate(row: Mapping[str, Any]) -> str:
    if not row["disk_only"]:
        return "? (not given)" if row["dph_total"] is None else f"{row['dph_total']:.3f}"
    billing = row["billing_per_hour"]
    return "disk only" if billing is None else f"{billing:.3f} (disk)"
