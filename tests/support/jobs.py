"""The one job builder of the tests: a small valid job document, with any top-level field replaced."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vastjob.spec.model import JobSpec

# What the compile and script tests render: quick to run, no runtime limit.
SCRIPT_JOB: dict[str, Any] = {
    "version": 1,
    "name": "scripttest",
    "workdir": "/workspace/scripttest",
    "offer": {"gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20}, "max_price_per_hour": 1.0},
    "instance": {"image": "python:3.11-slim", "disk_gb": 20},
    "run": {"command": "echo trained"},
    "shutdown": {"on_success": "destroy", "on_failure": "stop"},
}

# What the apply and lifecycle tests rent: it renders quickly and matches plenty of emulator offers.
RENTED_JOB: dict[str, Any] = {
    **SCRIPT_JOB,
    "name": "tiny",
    "workdir": "/workspace/tiny",
    "offer": {
        "gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20},
        "max_price_per_hour": 0.8,
        "verified_only": True,
        "order": ["price"],
    },
    "run": {"command": "sleep 30", "max_runtime": "10m"},
}


def job_doc(base: Mapping[str, Any] = SCRIPT_JOB, /, **fields: Any) -> dict[str, Any]:
    """A copy of `base` (the script job unless given) whose top-level fields `fields` replace."""
    doc = copy.deepcopy(dict(base))
    doc.update(fields)
    return doc


def job_of(base: Mapping[str, Any] = SCRIPT_JOB, /, **fields: Any) -> JobSpec:
    """A JobSpec from `job_doc(base, **fields)`, as if read from test.yaml."""
    return JobSpec.from_document(job_doc(base, **fields), source="test.yaml")


def rented_doc(**fields: Any) -> dict[str, Any]:
    """The rented job's document with `fields` replaced."""
    return job_doc(RENTED_JOB, **fields)


def make_job(folder: Path, **fields: Any) -> JobSpec:
    """The rented job as read from a file in `folder` (so its `.env` is folder/.env)."""
    source = folder / "job.yaml"
    if not source.exists():
        source.write_text("# built in memory\n")
    return JobSpec.from_document(rented_doc(**fields), source=str(source))
