"""Jobs outlive their instance, end to end: `apply --local` against the emulator, with real rclone copying
to a local remote; then `status`, `logs` and `cost` answer from the local history and the uploaded log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.support.emulator import StartEmulator
from tests.support.jobs import job_doc, rented_doc
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.errors import EXIT_JOB_FAILED, EXIT_OK, Interrupted
from vastjob.spec import load_job
from vastjob.vast.apply import ApplyOptions
from vastjob.vast.local import run_local

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parent.parent / "jobs" / "demo.yaml"


def vj(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _apply_demo(tmp_path: Path, remote: Path, *sets: str) -> Result:
    over = [f"--set=remotes.results.options.remote={remote}", *(f"--set={s}" for s in sets)]
    return vj("apply", str(DEMO), "--local", "--yes", "--sandbox", str(tmp_path / "sb"), *over)


def test_the_demo_uploads_its_output_and_log_and_is_remembered(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    done = _apply_demo(tmp_path, remote)
    assert done.exit_code == EXIT_OK, done.output
    # The log streams as it comes.
    assert "[run] demo finished on 1 GPU(s)" in done.stdout and "job demo succeeded" in done.stdout
    assert (remote / "demo" / "sorted.txt").read_text() == "1\n2\n3\n"
    (logged,) = (remote / "demo" / "logs").iterdir()
    assert "job success, exit code 0: destroy" in (logged / "job.log").read_text()
    assert json.loads((logged / "result.json").read_text())["outcome"] == "succeeded"
    # The instance is destroyed and the emulator gone: status, logs and cost still answer.
    status = vj("status")
    assert status.exit_code == 0, status.output
    row = next(line for line in status.stdout.splitlines() if line.startswith("demo "))
    assert "succeeded" in row and "~$" in row and "sorted -> results:demo/" in row
    logs = vj("logs", "demo")
    assert logs.exit_code == 0, logs.output
    assert "[run] demo finished on 1 GPU(s)" in logs.stdout and "job success" in logs.stdout
    cost = json.loads(vj("cost", "demo", "-o", "json").stdout)
    (job,) = cost["jobs"]
    assert cost["estimate"] is True and job["outcome"] == "succeeded" and job["dph_total"] > 0
    assert set(job["cost_estimate"]) == {"gpu", "storage", "total"}


def test_the_failing_demo_exits_job_failed_and_leaves_its_log(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    done = _apply_demo(tmp_path, remote, "run.command=echo about to fail; exit 3")
    assert done.exit_code == EXIT_JOB_FAILED, done.output
    assert "job demo failed" in done.stdout and "step run failed, exit code 3" in done.stdout
    (logged,) = (remote / "demo" / "logs").iterdir()
    assert "[run] about to fail" in (logged / "job.log").read_text()
    assert json.loads((logged / "result.json").read_text())["shutdown"] == "stop"
    row = next(line for line in vj("status", "demo").stdout.splitlines() if line.startswith("demo "))
    assert "failed" in row


def _local(tmp_path: Path, **fields: Any) -> Result:
    spec = tmp_path / "job.yaml"
    doc = job_doc(name="verbs", **fields)
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return vj("apply", str(spec), "--local", "--yes", "--sandbox", str(tmp_path / "sb"), "-o", "json")


@pytest.mark.parametrize(
    ("command", "outcome", "code"), [("echo ok", "succeeded", EXIT_OK), ("exit 5", "failed", EXIT_JOB_FAILED)]
)
def test_the_outcome_is_the_jobs_own_when_both_shutdown_verbs_are_equal(
    tmp_path: Path, command: str, outcome: str, code: int
) -> None:
    done = _local(
        tmp_path,
        run={"command": command, "max_runtime": "5m"},
        shutdown={"on_success": "stop", "on_failure": "stop"},
    )
    assert done.exit_code == code, done.output
    assert json.loads(done.stdout)["local"]["outcome"] == outcome


def test_keep_ends_the_follow_at_the_jobs_final_line(tmp_path: Path) -> None:
    # With keep the instance runs on; apply returns once the job said it ended, not at max_runtime.
    done = _local(
        tmp_path,
        run={"command": "echo ok", "max_runtime": "30d"},
        shutdown={"on_success": "keep", "on_failure": "keep"},
    )
    assert done.exit_code == EXIT_OK, done.output
    local = json.loads(done.stdout)["local"]
    assert local["outcome"] == "succeeded" and local["final_state"] == "running"


def test_ctrl_c_detaches_and_says_what_becomes_of_the_job(tmp_path: Path) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text(yaml.safe_dump(job_doc(name="slow", run={"command": "sleep 60"}), sort_keys=False))

    def interrupt(_line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as err:
        run_local(
            load_job(spec),
            lambda path: Emulator(sandbox=path),
            tmp_path / "sb",
            options=ApplyOptions(yes=True),
            stream=interrupt,
        )
    assert err.value.exit_code == 130
    assert "detached from job slow" in str(err.value) and "vastjob apply" in str(err.value)


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        ("echo hello-follow", EXIT_OK, "job succeeded"),
        ("echo hello-follow; exit 7", EXIT_JOB_FAILED, "job failed (step run failed, exit code 7)"),
    ],
)
def test_apply_follow_streams_the_job_and_exits_with_its_outcome(
    tmp_path: Path,
    start_emulator: StartEmulator,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    code: int,
    said: str,
) -> None:
    emu = start_emulator(n_offers=400, step_seconds=0.05, kill_delay=0.2)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    remote = tmp_path / "remote"
    spec = tmp_path / "job.yaml"
    doc = rented_doc(
        run={"command": command, "max_runtime": "5m"},
        remotes={"res": {"type": "alias", "options": {"remote": str(remote)}}},
        logs="res:logs",
    )
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    done = vj("apply", str(spec), "--yes", "--follow")
    assert done.exit_code == code, done.output
    assert "hello-follow" in done.stdout and said in done.stdout
    # Gone or stopped, the job is still known here, with where its log went.
    row = next(line for line in vj("status", "tiny").stdout.splitlines() if line.startswith("tiny "))
    assert ("succeeded" if code == EXIT_OK else "failed") in row and "log -> res:logs/" in row
    # Destroyed after a success: its uploaded log answers; stopped after a failure: the API does.
    logs = vj("logs", "tiny")
    assert logs.exit_code == 0, logs.output
    assert "hello-follow" in logs.stdout and "[vastjob] job " in logs.stdout


def test_ctrl_c_while_following_detaches_and_says_how_to_reattach_and_stop(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    from tests.support.wire import fast_client
    from vastjob.vast.apply import Applier
    from vastjob.vast.follow import follow_instance

    emu = start_emulator(n_offers=50, step_seconds=0.05)
    spec = tmp_path / "job.yaml"
    spec.write_text(yaml.safe_dump(rented_doc(run={"command": "echo started; sleep 60"}), sort_keys=False))
    job = load_job(spec)
    applied = Applier(
        job, lambda: fast_client(emu.url, emu.api_key), options=ApplyOptions(yes=True, wait=True, poll_s=0.05)
    ).run()

    def interrupt(_line: str) -> None:
        raise KeyboardInterrupt

    with fast_client(emu.url, emu.api_key) as client, pytest.raises(Interrupted) as err:
        follow_instance(client, job, applied, emit=interrupt, poll_s=0.05)
    assert err.value.exit_code == 130
    message = str(err.value)
    assert "it goes on" in message and "vastjob logs -f tiny" in message and "vastjob stop tiny" in message
    assert applied.instance_id is not None
    assert not emu.instances[applied.instance_id].destroyed  # detached, not ended


def test_status_reads_a_stopped_jobs_outcome_from_its_own_log(
    tmp_path: Path, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    emu = start_emulator(n_offers=400, step_seconds=0.05, kill_delay=0.2)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    spec = tmp_path / "job.yaml"
    doc = rented_doc(run={"command": "exit 6", "max_runtime": "5m"})
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    applied = vj("apply", str(spec), "--yes", "--detach", "-o", "json")
    assert applied.exit_code == 0, applied.output
    iid = json.loads(applied.stdout)["instance_id"]
    deadline = time.monotonic() + 60
    while str(emu.instances[iid].actual_status) != "stopped" and time.monotonic() < deadline:
        time.sleep(0.1)
    row = next(line for line in vj("status", "tiny").stdout.splitlines() if line.startswith("tiny "))
    assert "failed" in row
    (job,) = json.loads(vj("cost", "tiny", "-o", "json").stdout)["jobs"]
    assert (job["outcome"], job["why"]) == ("failed", "step run failed, exit code 6")


def test_logs_follow_of_a_self_destroying_job_ends_with_its_final_line(
    tmp_path: Path, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = start_emulator(n_offers=400, step_seconds=0.05, kill_delay=0.2)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    spec = tmp_path / "job.yaml"
    doc = rented_doc(
        run={"command": "echo first; sleep 1; echo second", "max_runtime": "5m"},
        remotes={"res": {"type": "alias", "options": {"remote": str(tmp_path / "remote")}}},
        logs="res:logs",
    )
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert vj("apply", str(spec), "--yes", "--detach").exit_code == 0
    followed = vj("logs", "tiny", "--follow", "--interval", "0.2")
    assert followed.exit_code == 0, followed.output
    # Destroyed with its last lines unread by the API, they come from the log it uploaded.
    assert "[run] second" in followed.stdout
    assert "[vastjob] job success, exit code 0: destroy" in followed.stdout
    assert followed.stdout.count("[run] second") == 1
