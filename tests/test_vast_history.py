"""The specs applied from this machine, by hash, and the fields a new spec changes."""

from __future__ import annotations

from pathlib import Path

from tests.support.jobs import rented_doc as job_doc
from vastjob.spec.model import JobSpec
from vastjob.vast.history import FieldChange, changed_fields, recall, remember, spec_file


def test_a_remembered_spec_is_recalled_by_its_hash(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    job = JobSpec.from_document(job_doc(env={"A": "1"}))
    assert recall(job.spec_hash, env) is None
    where = tmp_path / f"vastjob/specs/{job.spec_hash}.json"
    assert remember(job, env) == spec_file(job.spec_hash, env) == where
    assert recall(job.spec_hash, env) == job.document
    assert [p.name for p in (tmp_path / "vastjob/specs").iterdir()] == [f"{job.spec_hash}.json"]


def test_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "vastjob").write_text("a file where the folder would be")
    assert remember(JobSpec.from_document(job_doc()), {"XDG_CACHE_HOME": str(tmp_path)}) is None


def test_changed_fields_by_dotted_path() -> None:
    old = job_doc(env={"A": "1", "B": "2"})
    new = job_doc(env={"A": "1", "C": "3"})
    new["offer"] = {**new["offer"], "max_price_per_hour": 1.2, "gpu": {**new["offer"]["gpu"], "count": 2}}
    new["run"] = {"command": "python train.py"}
    changes = changed_fields(old, new)
    assert [c.path for c in changes] == [
        "offer.gpu.count",
        "offer.max_price_per_hour",
        "run.command",
        "run.max_runtime",
        "env.C",
        "env.B",
    ]
    assert changes[1] == FieldChange("offer.max_price_per_hour", 0.8, 1.2)
    assert changes[3].render() == 'run.max_runtime: "10m" -> (not set)'
    assert changed_fields(old, old) == []
