"""`vastjob validate` and `vastjob schema` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vastjob.cli import cli

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = "version: 1\nname: t\noffer: {max_price_per_hour: 1}\ninstance: {image: img}\nrun: {command: go}\n"
THREE_PROBLEMS = """\
version: 1
name: three
offer:
  max_price_per_hour: 2
  min_reliabilty: 0.9
  gpu: {count: two}
instance: {image: img}
run:
  command: go
  max_runtime: 12hours
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_example_jobs_are_valid() -> None:
    code, out, _ = invoke("validate", str(ROOT / "jobs"))
    assert (code, out) == (0, "ok: 5 job specs valid (1 base spec checked)\n")


def test_three_problems_three_located_lines_exit_1_no_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "three.yaml"
    spec.write_text(THREE_PROBLEMS, encoding="utf-8")
    # A real process, as a user runs it: the console script's module, with the test's environment.
    proc = subprocess.run(
        [sys.executable, "-c", "from vastjob.cli import main; main()", "validate", "three.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3
    assert all(re.match(r"^three\.yaml:\d+:\d+: \$\.\S+: ", line) for line in lines)
    assert [line.split(": ")[1] for line in lines] == [
        "$.offer.min_reliabilty",
        "$.offer.gpu.count",
        "$.run.max_runtime",
    ]


def test_json_output_lists_the_same_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("three.yaml").write_text(THREE_PROBLEMS, encoding="utf-8")
    code, out, _ = invoke("validate", "-o", "json", "three.yaml")
    _, _, text = invoke("validate", "three.yaml")
    problems = json.loads(out)
    assert code == 1
    assert [
        f"{p['file']}:{p['line']}:{p['col']}: {p['path']}: {p['message']}" for p in problems
    ] == text.splitlines()


def test_json_output_on_success(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    code, out, _ = invoke("validate", "-o", "json", str(tmp_path / "a.yaml"))
    (entry,) = json.loads(out)
    assert code == 0
    assert entry["name"] == "t" and entry["label"] == f"vastjob:t:{entry['spec_hash']}"


def test_set_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path / "a.yaml"), "--set", "shutdown.on_success=explode")
    assert code == 1
    assert err.endswith("(from --set shutdown.on_success=explode)\n")


def test_folders_and_globs_check_bases_through_their_jobs(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text(MINIMAL.replace("name: t\n", ""), encoding="utf-8")
    (tmp_path / "a.yaml").write_text("extends: _base.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("extends: _base.yaml\nname: b\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a spec", encoding="utf-8")
    assert invoke("validate", str(tmp_path))[:2] == (0, "ok: 2 job specs valid (1 base spec checked)\n")
    assert invoke("validate", str(tmp_path / "*.yaml"))[:2] == (
        0,
        "ok: 1 job spec valid (1 base spec checked)\n",
    )


def test_a_broken_base_is_reported_once_through_its_jobs(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text("version: 1\noffer: {max_price_per_hour: 1\n", encoding="utf-8")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"extends: _base.yaml\nname: {name}\n", encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 1
    assert err.count("_base.yaml:3:1: $: YAML syntax error") == 1


def test_a_base_no_job_extends_is_checked_alone(tmp_path: Path) -> None:
    (tmp_path / "_lonely.yaml").write_text("version: 1\nenv: {A: true}\n", encoding="utf-8")
    (tmp_path / "job.yaml").write_text(MINIMAL, encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 1
    assert "_lonely.yaml:2:10: $.env.A: true is a YAML boolean" in err


def test_a_path_that_matches_nothing(tmp_path: Path) -> None:
    code, _, err = invoke("validate", str(tmp_path / "nope.yaml"), str(tmp_path / "*.yml"))
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path / 'nope.yaml'}:0:0: $: no such file or folder",
        f"{tmp_path / '*.yml'}:0:0: $: no .yaml or .yml spec found here",
    ]


def test_schema_prints_the_packaged_schema() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    assert json.loads(out) == json.loads((ROOT / "schemas" / "job.schema.json").read_text(encoding="utf-8"))
