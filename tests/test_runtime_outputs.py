"""Outputs and logs leave the instance before its shutdown: the emitted script run for real, with real rclone
copying to a local remote, against the emulator as the API the script ends its billing with."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.jobs import job_of
from tests.support.script import Sandbox
from vastjob.compile import render_script
from vastjob.vast.outcome import read_outcome

pytestmark = pytest.mark.slow


def _job(remote: Path, run: str, outputs: dict[str, Any], **fields: Any) -> str:
    return render_script(
        job_of(
            remotes={"res": {"type": "alias", "options": {"remote": str(remote)}}},
            run={"command": run},
            outputs=outputs,
            logs="res:logs",
            **fields,
        )
    )


def _result(remote: Path, sandbox: Sandbox) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((remote / "logs" / sandbox.api_id / "result.json").read_text())
    return data


def _shutdowns(sandbox: Sandbox) -> list[str]:
    return [r.method for r in sandbox.requests]


def test_a_success_uploads_outputs_and_the_log_then_destroys(tmp_path: Path, sandbox: Sandbox) -> None:
    remote = tmp_path / "remote"
    outputs = {
        "ckpt": {"path": "ckpt/", "to": "res:run/ckpt/"},
        "metrics": {"path": "m.json", "to": "res:run/metrics.json", "when": "success"},
        "crash": {"path": "crash.txt", "to": "res:run/", "when": "failure"},
    }
    run = "mkdir -p ckpt && echo w > ckpt/a.pt && echo '{}' > m.json && echo c > crash.txt && echo trained"
    result = sandbox.run(_job(remote, run, outputs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (remote / "run/ckpt/a.pt").read_text() == "w\n"
    assert (remote / "run/metrics.json").read_text() == "{}\n"
    assert not (remote / "run/crash.txt").exists()  # failure only
    log = (remote / "logs" / sandbox.api_id / "job.log").read_text()
    assert "[run] trained" in log and "job success, exit code 0: destroy" in log
    res = _result(remote, sandbox)
    assert (res["job"], res["outcome"], res["exit_code"], res["shutdown"]) == (
        "scripttest",
        "succeeded",
        0,
        "destroy",
    )
    assert res["instance_id"] == sandbox.api_id and res["spec_hash"]
    assert _shutdowns(sandbox) == ["DELETE"]
    # Every upload is done before the shutdown is asked for.
    lines = sandbox.log().splitlines()
    asked = next(i for i, line in enumerate(lines) if "destroy request accepted" in line)
    assert all(i < asked for i, line in enumerate(lines) if "uploaded to" in line)


def test_a_failure_uploads_the_log_then_applies_on_failure(tmp_path: Path, sandbox: Sandbox) -> None:
    remote = tmp_path / "remote"
    outputs = {
        "metrics": {"path": "m.json", "to": "res:run/m.json", "when": "success"},
        "crash": {"path": "crash.txt", "to": "res:run/", "when": "failure"},
    }
    result = sandbox.run(_job(remote, "echo c > crash.txt && echo '{}' > m.json && exit 3", outputs))
    assert result.returncode == 1
    assert "failed, exit code 3" in sandbox.log_lines("run")
    assert (remote / "run/crash.txt").read_text() == "c\n"
    assert not (remote / "run/m.json").exists()
    res = _result(remote, sandbox)
    assert (res["outcome"], res["exit_code"], res["shutdown"]) == ("failed", 1, "stop")
    assert "job failure, exit code 1: stop" in (remote / "logs" / sandbox.api_id / "job.log").read_text()
    assert _shutdowns(sandbox) == ["PUT"]


def test_a_periodic_sync_reaches_the_remote_before_the_run_ends(tmp_path: Path, sandbox: Sandbox) -> None:
    remote = tmp_path / "remote"
    # The run ends only once the remote has its first checkpoint (and fails if it never comes).
    run = (
        f"mkdir -p ckpt && echo early > ckpt/1.pt && for i in $(seq 300); do "
        f"[ -e {remote}/sync/1.pt ] && echo seen && exit 0; sleep 0.2; done; exit 9"
    )
    outputs = {"ckpt": {"path": "ckpt/", "to": "res:sync/", "every": "1s"}}
    result = sandbox.run(_job(remote, run, outputs))
    assert result.returncode == 0, sandbox.log()
    assert "[run] seen" in sandbox.log()


def test_an_upload_that_hangs_is_bounded(tmp_path: Path, sandbox: Sandbox) -> None:
    # rclone that never answers for this output (as on a dead network); the log still goes.
    real = Path(sys.executable).parent / "rclone"
    sandbox.shim("rclone", f'case "$*" in *ckpt*) exec sleep 600;; esac\nexec {real} "$@"\n')
    outputs = {"ckpt": {"path": "ckpt/", "to": "res:run/", "timeout": "1s", "retries": 1}}
    result = sandbox.run(_job(tmp_path / "remote", "mkdir -p ckpt && echo w > ckpt/a", outputs), timeout=60)
    lines = sandbox.log_lines("output:ckpt")
    assert lines == ["upload attempt 1 failed, exit code 124", "upload attempt 2 failed, exit code 124"]
    # A required output that could not leave the box: the job counts as failed, and its disk is kept.
    assert "a required output was not uploaded" in sandbox.log_lines("vastjob")
    assert _shutdowns(sandbox) == ["PUT"]
    assert result.returncode == 0


@pytest.mark.parametrize("required", [True, False])
def test_a_required_upload_that_fails_marks_the_job(tmp_path: Path, sandbox: Sandbox, required: bool) -> None:
    remote = tmp_path / "remote"
    outputs = {"ckpt": {"path": "missing/", "to": "res:run/", "required": required}}
    result = sandbox.run(_job(remote, "echo trained", outputs))
    assert result.returncode == 0
    res = _result(remote, sandbox)
    assert "nothing at missing/ to upload" in sandbox.log_lines("output:ckpt")
    if required:
        assert (res["outcome"], res["reason"]) == ("failed", "a required output was not uploaded")
        assert _shutdowns(sandbox) == ["PUT"]
    else:
        assert (res["outcome"], res["reason"]) == ("succeeded", "")
        assert _shutdowns(sandbox) == ["DELETE"]


def test_the_result_has_each_steps_start_and_end_and_the_price_it_was_rented_at(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    from datetime import datetime

    remote = tmp_path / "remote"
    script = _job(remote, "sleep 1; echo trained", {}, steps=[{"id": "prep", "run": "echo prepared"}])
    result = sandbox.run(script, {"VASTJOB_DPH_TOTAL": "0.2410000000"})
    assert result.returncode == 0, result.stdout + result.stderr
    res = _result(remote, sandbox)
    assert res["dph_total"] == 0.241
    # The log's lines that time the steps, collected on the box; read back as the log's are.
    assert all(line in sandbox.log().splitlines() for line in res["steps"])
    steps = {s["id"]: s for s in read_outcome(json.dumps(res), None).steps}
    assert steps["prep"]["status"] == steps["run"]["status"] == "done"
    when = {
        sid: (datetime.fromisoformat(st["start"]), datetime.fromisoformat(st["end"]))
        for sid, st in steps.items()
    }
    assert when["prep"][0] <= when["prep"][1] <= when["run"][0] < when["run"][1]  # run waited a second
    # The times are the log's own, as its step lines have them.
    assert f"{steps['run']['start']} [run] start, attempt 1" in sandbox.log()
    assert f"{steps['run']['end']} [run] done" in sandbox.log()


def test_a_result_without_a_price_says_null_and_a_failed_step_ends_failed(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    remote = tmp_path / "remote"
    result = sandbox.run(_job(remote, "exit 4", {}), {"VASTJOB_DPH_TOTAL": "000000000000"})
    assert result.returncode == 1
    res = _result(remote, sandbox)
    assert res["dph_total"] is None  # a placeholder, never a price
    (run,) = [s for s in read_outcome(json.dumps(res), None).steps if s["id"] == "run"]
    assert run["status"] == "failed" and run["start"] <= run["end"]
