"""The schema file: valid 2020-12, every field described, closed at every level, and what editors see."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from vastjob.spec.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent


def _objects(schema: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with `properties`, with a readable place."""
    if isinstance(schema, dict):
        if "properties" in schema:
            yield where, schema
        for key, value in schema.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _objects(value, f"{where}/{i}")


def test_the_schema_is_valid_against_its_metaschema() -> None:
    Draft202012Validator.check_schema(load_schema())
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_field_has_a_description() -> None:
    defs = load_schema()["$defs"]
    missing = []
    for where, obj in _objects(load_schema()):
        for name, field in obj["properties"].items():
            target = defs[field["$ref"].rsplit("/", 1)[-1]] if "$ref" in field else {}
            if "description" not in field and "description" not in target:
                missing.append(f"{where}/{name}")
    assert missing == []


def test_every_object_is_closed() -> None:
    places = [where for where, obj in _objects(load_schema()) if obj.get("additionalProperties") is not False]
    assert places == []


def test_the_top_level_schema_file_is_the_packaged_one() -> None:
    link = ROOT / "schemas" / "job.schema.json"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "vastjob" / "schemas" / "job.schema.json").resolve()


def test_example_jobs_point_editors_at_the_schema() -> None:
    for job in sorted((ROOT / "jobs").glob("*.yaml")):
        first = job.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/job.schema.json", job.name


def test_an_editor_validating_each_file_alone_accepts_the_examples() -> None:
    # check-jsonschema sees one file at a time, as an editor does: a spec that extends another is partial.
    files = sorted(str(p) for p in (ROOT / "jobs").glob("*.yaml"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(ROOT / "schemas" / "job.schema.json"),
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_rejects_what_it_should_on_its_own() -> None:
    validator = Draft202012Validator(load_schema())
    doc = json.loads(
        '{"version": 1, "offer": {"max_price_per_hour": 0}, "instance": {"image": "x"},'
        ' "run": {"command": "go", "max_runtime": "soon"}, "oops": 1}'
    )
    kinds = sorted(e.validator for e in validator.iter_errors(doc))
    assert kinds == ["additionalProperties", "exclusiveMinimum", "pattern"]


def _defaults(schema: Any, defs: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    """Every `default` in the schema, by a dotted path (`*` for any map key, `[]` for any list item)."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        yield from _defaults(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
    if "default" in schema:
        yield path, schema["default"]
    for key, sub in schema.get("properties", {}).items():
        yield from _defaults(sub, defs, f"{path}.{key}".lstrip("."))
    yield from _defaults(schema.get("additionalProperties"), defs, f"{path}.*")
    yield from _defaults(schema.get("items"), defs, f"{path}.[]")


def test_the_models_defaults_are_the_schemas() -> None:
    from vastjob.spec.model import JobSpec
    from vastjob.text import format_duration

    job = JobSpec.from_document(
        {
            "version": 1,
            "name": "t",
            "offer": {"max_price_per_hour": 1},
            "instance": {"image": "img"},
            "repo": {"url": "https://h/x.git"},
            "datasets": {"d": {"source": "https://h/d"}},
            "steps": [{"id": "a", "run": "x"}],
            "run": {"command": "go"},
        }
    )
    in_model = {
        "workdir": job.workdir,
        "offer.gpu.count": job.offer.gpu.count,
        "offer.datacenter_only": job.offer.datacenter_only,
        "offer.verified_only": job.offer.verified_only,
        "offer.interruptible": job.offer.interruptible,
        "offer.bid_margin": job.offer.bid_margin,
        "offer.order": list(job.offer.order),
        "instance.disk_gb": job.instance.disk_gb,
        "repo.ref": job.repo.ref if job.repo else None,
        "datasets.*.dest": job.datasets[0].dest,
        "datasets.*.retries": job.datasets[0].retries,
        "steps.[].retries": job.steps[0].retries,
        "run.retries": job.run.retries,
        "shutdown.on_success": job.shutdown.on_success,
        "shutdown.on_failure": job.shutdown.on_failure,
        "nodes": job.nodes,
        "distributed.launcher": job.distributed.launcher,
        "distributed.port": job.distributed.port,
        "distributed.peer_timeout": format_duration(job.distributed.peer_timeout_s),
        "distributed.rendezvous_timeout": format_duration(job.distributed.rendezvous_timeout_s),
        "shutdown.boot_allowance": format_duration(job.shutdown.boot_allowance_s),
        "shutdown.keep_stopped_for": format_duration(job.shutdown.keep_stopped_for_s),
    }
    schema = load_schema()
    assert dict(_defaults(schema, schema["$defs"])) == in_model


def test_the_schema_file_has_no_key_twice() -> None:
    # json.loads keeps the last of two equal keys without a word, so a second block would hide the first.
    from vastjob.spec.schema import schema_text

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), sorted({key for key in keys if keys.count(key) > 1})
        return dict(pairs)

    json.loads(schema_text(), object_pairs_hook=refuse_duplicates)
