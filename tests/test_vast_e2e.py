"""Whole jobs against the emulator, end to end.

A burgers-like job (local bare repo, local rclone remote, a secret) runs and destroys itself; a failing one
ends stopped with its GPU meter stopped; `apply --local` runs the demo job; and no secret value or account key
shows up in any output, request URL or log along the way.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support.emulator import StartEmulator
from tests.support.jobs import rented_doc as job_doc
from tests.support.wire import Recorder, fast_client
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.spec.load import load_job
from vastjob.vast import lifecycle
from vastjob.vast.apply import Applier, ApplyOptions

pytestmark = pytest.mark.slow

SECRET = "wandb-secret-93be0c7d"
ACCOUNT_KEY = "account-key-5e2a61f0"
TRAIN = """#!/bin/bash
set -euo pipefail
test -n "$WANDB_API_KEY"
test -s data/pdebench/burgers1d_train.h5
mkdir -p out
wc -c < data/pdebench/burgers1d_train.h5 > out/bytes.txt
echo "trained stage $TRAIN_STAGE"
[ "${FAIL:-0}" = 0 ]
"""


@pytest.fixture
def bare_repo(tmp_path: Path) -> str:
    work = tmp_path / "src"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "train.sh").write_text(TRAIN)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(work)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "train"], check=True)
    subprocess.run([*git, "branch", "feature/burgers"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "sim.git")], check=True)
    return f"file://{tmp_path / 'sim.git'}"


def burgers_spec(tmp_path: Path, repo_url: str, **env: str) -> Path:
    data = tmp_path / "bucket" / "burgers1d"
    data.mkdir(parents=True, exist_ok=True)
    (data / "burgers1d_train_000.h5").write_bytes(bytes(range(256)) * 64)
    doc: dict[str, Any] = {
        "version": 1,
        "name": "burgers-local",
        "workdir": "/workspace",
        "offer": {
            "gpu": {"names": ["H200 NVL", "H200"], "count": 1, "min_vram_gb": 96},
            "max_price_per_hour": 6.0,
            "min_cuda": "12.4",
            "order": ["price"],
        },
        "instance": {"image": "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-devel", "disk_gb": 50},
        "repo": {"url": repo_url, "ref": "feature/burgers", "dir": "/workspace/sim"},
        "setup": {"apt": ["git"]},
        "remotes": {"store": {"type": "local"}},
        "datasets": {
            "burgers1d": {
                "source": f"store:{data}/burgers1d_train_000.h5",
                "dest": "data/pdebench/",
                "min_bytes": 1000,
                "links": {"data/pdebench/burgers1d_train.h5": "burgers1d_train_000.h5"},
            }
        },
        "env": {"TRAIN_STAGE": "all", **env},
        "secrets": ["WANDB_API_KEY"],
        "run": {"command": "bash scripts/train.sh", "max_runtime": "5m"},
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }
    path = tmp_path / f"burgers{'-fail' if env else ''}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def emu(start_emulator: StartEmulator) -> Emulator:
    return start_emulator(n_offers=1500, step_seconds=0.05, api_key=ACCOUNT_KEY, kill_delay=0.2)


def wait_for(emu: Emulator, iid: int, states: set[str], timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(emu.instances[iid].actual_status)
        if status in states:
            return status
        time.sleep(0.1)
    log = emu.sandbox / str(iid) / ".emulator" / "container.log"
    raise AssertionError(
        f"instance {iid} stuck in {emu.instances[iid].actual_status}:\n"
        + (log.read_text() if log.exists() else "(no log)")
    )


def every_file_text(folder: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
    )


def apply(emu: Emulator, spec: Path, recorder: Recorder, said: list[str]) -> int:
    job = load_job(str(spec))
    result = Applier(
        job,
        lambda: fast_client(emu.url, emu.api_key, recorder),
        options=ApplyOptions(yes=True, wait=True, poll_s=0.05),
        environ={"WANDB_API_KEY": SECRET},
        say=said.append,
    ).run()
    assert result.instance_id is not None
    return result.instance_id


def test_a_burgers_like_job_runs_and_destroys_itself(
    emu: Emulator, tmp_path: Path, bare_repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, said = Recorder(), list[str]()
    spec = burgers_spec(tmp_path, bare_repo)
    iid = apply(emu, spec, recorder, said)
    assert any(line.startswith("pinned feature/burgers to ") for line in said)
    assert wait_for(emu, iid, {"destroyed", "stopped"}) == "destroyed"
    root = emu.sandbox / str(iid)
    assert (root / "workspace" / "sim" / "out" / "bytes.txt").read_text().strip() == str(256 * 64)
    log = (root / "var" / "log" / "vastjob" / "job.log").read_text()
    assert "trained stage all" in log
    assert emu.instances[iid].env["WANDB_API_KEY"] == SECRET
    assert ACCOUNT_KEY not in emu.instances[iid].env.values()

    # The commands a user runs afterwards, through the CLI, with the key from the environment.
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", ACCOUNT_KEY)
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    outputs = [
        CliRunner().invoke(cli, args).output
        for args in (
            ["status", "--all"],
            ["status", str(spec), "-o", "json"],
            ["plan", str(spec)],
            ["apply", str(spec), "--dry-run", "-o", "json"],
            ["logs", "burgers-local"],
        )
    ]
    leaks = [SECRET, ACCOUNT_KEY]
    for text in [*outputs, *said, every_file_text(root)]:
        for value in leaks:
            assert value not in text
    for sent in recorder.sent:
        for value in leaks:
            assert value not in sent.url
        if sent.method != "PUT" or "/asks/" not in sent.url:
            assert SECRET.encode() not in sent.body  # the secret travels in the create body only


def test_a_failing_job_ends_stopped_and_its_gpu_meter_stops(
    emu: Emulator, tmp_path: Path, bare_repo: str
) -> None:
    recorder, said = Recorder(), list[str]()
    iid = apply(emu, burgers_spec(tmp_path, bare_repo, FAIL="1"), recorder, said)
    assert wait_for(emu, iid, {"destroyed", "stopped"}) == "stopped"
    time.sleep(0.3)  # let the container's own stop finish killing its processes
    first = emu.billing(iid)
    time.sleep(0.3)
    second = emu.billing(iid)
    assert first["gpu_seconds"] > 0 and second["gpu_seconds"] == first["gpu_seconds"]
    assert second["storage_seconds"] > first["storage_seconds"]
    with fast_client(emu.url, emu.api_key) as client:
        (row,) = [lifecycle.status_row(i, time.time()) for i in lifecycle.find(client, "burgers-local")]
        assert row["state"] == "stopped"
        assert lifecycle.destroy(client, "burgers-local") == [iid]


def test_apply_local_runs_the_demo_job_and_leaves_nothing(tmp_path: Path) -> None:
    sandbox = tmp_path / "local"
    demo = Path(__file__).resolve().parent.parent / "jobs" / "demo.yaml"
    result = CliRunner().invoke(
        cli, ["apply", str(demo), "--local", "--yes", "--sandbox", str(sandbox), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    local = report["local"]
    assert local["outcome"] == "succeeded" and local["final_state"] == "destroyed"
    assert any("demo finished on 1 GPU(s)" in line for line in local["log_tail"])
    iid = local["instance_id"]
    assert (sandbox / str(iid) / "workspace" / "demo" / "out" / "sorted.txt").read_text() == "1\n2\n3\n"
    assert f"its log: {local['log_path']}" in result.stderr


def test_apply_local_reports_a_failed_job_and_still_leaves_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    doc = job_doc(name="broken", run={"command": "echo about to fail; exit 3", "max_runtime": "5m"})
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = CliRunner().invoke(
        cli, ["apply", str(spec), "--local", "--yes", "--sandbox", str(tmp_path / "sb")]
    )
    assert result.exit_code == 4, result.output  # EXIT_JOB_FAILED
    assert "job broken failed (instance" in result.stdout and "ended stopped" in result.stdout
    assert "about to fail" in result.stdout
    assert "destroyed local instance" in result.stderr
