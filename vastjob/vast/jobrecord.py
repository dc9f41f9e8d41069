"""The jobs this machine applied, kept under the user's state folder (XDG), so they outlive their instance.

Each apply writes `<state>/vastjob/jobs/<job>/<instance id>.json`: the job, its spec hash, the instance, the
offer, $/h, the times, where its outputs and logs go (and the remotes that reach them, secrets by name
only). `status` and `logs` complete a record from the API while the instance exists and from `logs:` after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vastjob.spec.model import JobSpec
from vastjob.userfiles import state_root, write_whole


@dataclass
class JobRecord:
    """One applied instance of a job, and what is known of how it went."""

    job: str
    spec_hash: str
    instance_id: int
    created_at: float
    offer_id: int | None = None
    dph_total: float | None = None  # $/h while it runs, storage included
    storage_per_hour: float | None = None  # $/h of its disk, billed until it is destroyed
    local: bool = False
    outputs: dict[str, str] = field(default_factory=dict)  # name -> destination
    logs: str | None = None
    remotes: dict[str, Any] = field(default_factory=dict)  # the spec's `remotes:` (secret names only)
    state: str | None = None  # as last seen
    ended_at: float | None = None  # when the job ended (its final log line), or was first seen ended
    gone_at: float | None = None  # when the instance was first seen destroyed
    outcome: str | None = None  # succeeded | failed | unknown, once known
    why: str = ""
    exit_code: int | None = None

    @classmethod
    def new(cls, job: JobSpec, instance_id: int, *, local: bool = False, **known: Any) -> JobRecord:
        """A record for an instance just rented for `job`."""
        doc = job.document
        return cls(
            job=job.name,
            spec_hash=job.spec_hash,
            instance_id=instance_id,
            created_at=time.time(),
            local=local,
            outputs={o.name: o.to.text for o in job.outputs},
            logs=job.logs.text if job.logs else None,
            remotes=dict(doc.get("remotes") or {}),
            **known,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobRecord:
        """A record read back (unknown keys, from a newer vastjob, are left out)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, with the duration and cost estimate it implies now."""
        return {**asdict(self), "duration_s": self.duration_s(time.time()), "cost": self.cost(time.time())}

    def log_destination(self) -> str | None:
        """Where the instance's log went (`logs:` + `/<instance id>/job.log`)."""
        return None if self.logs is None else f"{self.logs.rstrip('/')}/{self.instance_id}/job.log"

    def result_destination(self) -> str | None:
        """Where the instance's result file went."""
        return None if self.logs is None else f"{self.logs.rstrip('/')}/{self.instance_id}/result.json"

    def duration_s(self, now: float) -> float:
        """How long the job ran: from the rental to its end (or until now, while it runs)."""
        return max(0.0, (self.ended_at or now) - self.created_at)

    def cost(self, now: float) -> dict[str, float | None]:
        """An estimate of what the instance cost while it existed, GPU and storage apart (None: not known).

        GPU time is billed while it runs (until the job ended), the disk until the instance is destroyed.
        """
        run_h = self.duration_s(now) / 3600
        if self.gone_at is not None:
            exists_h = max(0.0, self.gone_at - self.created_at) / 3600
        elif self.state in ("destroyed", "gone"):
            exists_h = run_h
        else:
            exists_h = max(0.0, now - self.created_at) / 3600
        disk = self.storage_per_hour or 0.0
        gpu = None if self.dph_total is None else round(max(0.0, self.dph_total - disk) * run_h, 4)
        storage = None if self.storage_per_hour is None else round(disk * exists_h, 4)
        total = None if gpu is None else round(gpu + (storage or 0.0), 4)
        return {"gpu": gpu, "storage": storage, "total": total}


def record_file(record: JobRecord, environ: Mapping[str, str] | None = None) -> Path:
    """Where the record of one instance of a job is kept. Each `apply --local` starts a new emulator, whose
    instance ids start over: its records are told apart by when they were made."""
    name = str(record.instance_id)
    if record.local:
        name = f"local-{int(record.created_at * 1000)}-{name}"
    return state_root(environ) / "jobs" / record.job / f"{name}.json"


def save(record: JobRecord, environ: Mapping[str, str] | None = None) -> Path | None:
    """Write a record whole (a reader never sees half of one); None when the state cannot be written."""
    target = record_file(record, environ)
    try:
        write_whole(target, json.dumps(asdict(record), indent=1, sort_keys=True))
    except OSError:
        return None
    return target


def load_all(job: str | None = None, environ: Mapping[str, str] | None = None) -> list[JobRecord]:
    """Every record (of `job`, or of every job), oldest first; an unreadable file is skipped."""
    root = state_root(environ) / "jobs"
    folders = [root / job] if job else sorted(p for p in root.glob("*") if p.is_dir())
    found = []
    for folder in folders:
        for path in folder.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append(JobRecord.from_json(data))
            except (OSError, ValueError, TypeError):
                continue
    return sorted(found, key=lambda r: (r.created_at, r.instance_id))
