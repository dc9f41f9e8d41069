"""`apply` follows the job to its end by default, terminal or not: plain progress lines between the job's
log lines, the job's outcome as the exit code; `--detach` returns with the job left running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.support.emulator import StartEmulator
from tests.support.jobs import rented_doc
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.errors import EXIT_JOB_FAILED, EXIT_OK

pytestmark = pytest.mark.slow


def vj(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def spec_for(
    tmp_path: Path, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Emulator]:
    emu = start_emulator(n_offers=400, step_seconds=0.05, kill_delay=0.2)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    return tmp_path / "job.yaml", emu


def _write(spec: Path, command: str) -> str:
    # Its log goes to a local rclone remote: a job that destroys itself still tells how it ended. It runs
    # a moment first, so that the follow sees it running.
    doc = rented_doc(
        run={"command": f"sleep 2; {command}", "max_runtime": "5m"},
        remotes={"res": {"type": "alias", "options": {"remote": str(spec.parent / "remote")}}},
        logs="res:logs",
    )
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(spec)


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        ("echo hello-default", EXIT_OK, "job succeeded"),
        ("echo hello-default; exit 3", EXIT_JOB_FAILED, "job failed (step run failed, exit code 3)"),
    ],
)
def test_apply_without_a_terminal_follows_with_plain_progress_and_exits_with_the_job(
    spec_for: tuple[Path, Emulator], command: str, code: int, said: str
) -> None:
    spec, _ = spec_for
    done = vj("apply", _write(spec, command), "--yes")
    assert done.exit_code == code, done.output
    assert "[run] hello-default" in done.stdout and said in done.stdout
    # No rich status line here: the progress comes as plain lines on stderr, the state first.
    progress = [line for line in done.stderr.splitlines() if line.startswith("[vastjob apply] ")]
    assert progress and progress[0].startswith("[vastjob apply] running")
    assert all(", ~$" in line and "so far" in line for line in progress if "destroyed" not in line)


def test_apply_as_json_follows_too_and_prints_the_outcome_last(spec_for: tuple[Path, Emulator]) -> None:
    spec, _ = spec_for
    done = vj("apply", _write(spec, "echo hello-json; exit 2"), "--yes", "-o", "json")
    assert done.exit_code == EXIT_JOB_FAILED, done.output
    result = json.loads(done.stdout)  # stdout is the JSON alone: the log went to stderr
    assert result["action"] == "created"
    assert result["job"]["outcome"] == "failed" and "exit code 2" in result["job"]["why"]
    assert "[run] hello-json" in done.stderr


def test_detach_returns_with_the_instance_running_and_the_job_going_on(
    spec_for: tuple[Path, Emulator],
) -> None:
    spec, emu = spec_for
    done = vj("apply", _write(spec, "echo started; sleep 60"), "--yes", "--detach", "--wait", "-o", "json")
    assert done.exit_code == EXIT_OK, done.output
    result = json.loads(done.stdout)
    assert result["state"] == "running" and "job" not in result
    assert not emu.instances[result["instance_id"]].destroyed
    assert vj("destroy", "tiny", "--yes").exit_code == 0


def test_the_uploaded_result_has_the_rented_price_and_each_steps_times(
    spec_for: tuple[Path, Emulator],
) -> None:
    from vastjob.vast.outcome import read_outcome

    spec, emu = spec_for
    done = vj("apply", _write(spec, "echo priced"), "--yes", "-o", "json")
    assert done.exit_code == EXIT_OK, done.output
    applied = json.loads(done.stdout)
    iid = applied["instance_id"]
    result = (spec.parent / "remote" / "logs" / str(iid) / "result.json").read_text()
    # The price apply rented at, told to the job through its env, not its spec.
    price = json.loads(result)["dph_total"]
    assert price == pytest.approx(applied["plan"]["chosen"]["price_per_hour"], abs=1e-4)
    steps = read_outcome(result, None).steps
    assert [s["id"] for s in steps][-1] == "run"
    assert all(s["status"] == "done" and s["start"] <= s["end"] for s in steps)
    # The local history reads its cost from the same price.
    (job,) = json.loads(vj("cost", "tiny", "-o", "json").stdout)["jobs"]
    assert job["dph_total"] == pytest.approx(price, abs=1e-4)
    assert emu.instances[iid].destroyed
