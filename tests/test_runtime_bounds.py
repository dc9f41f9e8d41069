"""What bounds a job's billing, run for real against the emulator: steps end with their command (a daemon
never holds them open), hard timeouts, max_runtime over every start, min_bytes counting the download,
whole log lines from parallel steps, a bootstrap that cannot start the job, a shutdown that keeps being
refused. Knobs (VASTJOB_GRACE, VASTJOB_HEARTBEAT, VASTJOB_SHUTDOWN_TRIES) keep them quick; nothing here
asserts how long anything took."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.jobs import job_of
from tests.support.script import Sandbox
from vastjob.compile import render_bootstrap, render_script
from vastjob.compile.chunked import SCRIPT_PREFIX
from vastjob.compile.transport import make_payload

pytestmark = pytest.mark.slow

QUICK = {"VASTJOB_GRACE": "1", "VASTJOB_HEARTBEAT": "1"}


def _alive(pid: int) -> bool:
    """Whether a process is still running now (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _pids(box: Sandbox, name: str) -> list[int]:
    return [int(p) for p in box.read(name).split()]


def _calls(box: Sandbox) -> list[tuple[str, object]]:
    return [(r.method, json.loads(r.body or b"{}")) for r in box.requests]


STOP: tuple[str, object] = ("PUT", {"state": "stopped"})
DESTROY: tuple[str, object] = ("DELETE", {})


def test_a_daemon_left_by_a_step_neither_holds_the_job_open_nor_outlives_it(sandbox: Sandbox) -> None:
    # `tensorboard ... &`: a background process that keeps the step's output open.
    job = job_of(run={"command": 'sleep 600 & echo $! >"$SANDBOX/daemon.pid"; echo trained'})
    result = sandbox.run(render_script(job), QUICK)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sandbox.log_lines("run")[-2:] == ["trained", "done"]
    assert "job success, exit code 0: destroy" in sandbox.log_lines("vastjob")
    assert _calls(sandbox) == [DESTROY]
    (daemon,) = _pids(sandbox, "daemon.pid")
    assert not _alive(daemon)


def test_a_step_that_keeps_its_processes_leaves_them_running_until_the_job_ends(sandbox: Sandbox) -> None:
    helper = 'sleep 600 & echo $! >"$SANDBOX/helper.pid"; (sleep 0.5; echo "late $((6 * 7))") & echo started'
    log = '"$VASTJOB_ROOT/var/log/vastjob/job.log"'
    wait_line = f'until grep -q "\\[helper\\] late 42" {log}; do sleep 0.1; done'
    job = job_of(
        steps=[{"id": "helper", "run": helper, "keep_processes": True}],
        run={"command": f'kill -0 "$(cat "$SANDBOX/helper.pid")" && echo helper alive; {wait_line}'},
    )
    result = sandbox.run(render_script(job), QUICK)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "helper alive" in sandbox.log_lines("run")
    assert "late 42" in sandbox.log_lines("helper")  # printed after its step was done
    (pid,) = _pids(sandbox, "helper.pid")
    assert not _alive(pid), "a kept process outlived the job"
    assert _calls(sandbox) == [DESTROY]


def test_an_attempt_that_ignores_term_is_killed_with_its_group_before_its_retry(sandbox: Sandbox) -> None:
    # Each attempt notes whether the one before it still runs, then ignores TERM past its timeout.
    command = (
        'for p in $(cat "$SANDBOX/pids" 2>/dev/null || :); do '
        "s=$(awk '/^State/ {print $2}' /proc/$p/status 2>/dev/null || :); "
        'if [ -n "$s" ] && [ "$s" != Z ]; then echo "$p" >>"$SANDBOX/overlap"; fi; done; '
        'trap "" TERM; sleep 300 & echo $! >>"$SANDBOX/pids"; echo $$ >>"$SANDBOX/pids"; wait'
    )
    job = job_of(steps=[{"id": "stubborn", "run": command, "timeout": "1s", "retries": 1}])
    result = sandbox.run(render_script(job), QUICK)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = sandbox.log_lines("stubborn")
    assert "exit code 124, retry in 0s" in lines and lines[-1] == "failed, exit code 124"
    pids = _pids(sandbox, "pids")
    assert len(pids) == 4  # two attempts, each a shell and its sleep
    assert sandbox.read("overlap") == "", "an attempt ran beside its retry"
    assert [p for p in pids if _alive(p)] == [], "an attempt outlived the job"
    assert _calls(sandbox) == [STOP]


def test_a_failure_elsewhere_ends_a_step_that_ignores_term(sandbox: Sandbox) -> None:
    job = job_of(
        steps=[
            {"id": "stubborn", "run": 'trap "" TERM; sleep 300 & echo $! >"$SANDBOX/pid"; wait', "needs": []},
            {"id": "broken", "run": 'until [ -s "$SANDBOX/pid" ]; do sleep 0.1; done; exit 5', "needs": []},
        ]
    )
    result = sandbox.run(render_script(job), QUICK)
    assert result.returncode == 1, result.stdout + result.stderr
    assert sandbox.log_lines("broken")[-1] == "failed, exit code 5"
    (pid,) = _pids(sandbox, "pid")
    assert not _alive(pid), "an attempt outlived the job"
    assert _calls(sandbox) == [STOP]


def test_max_runtime_counts_the_time_of_every_start(sandbox: Sandbox) -> None:
    # The first start fails on its own within the bound; later ones would run on: the bound, counted over
    # every start, ends the second, and every start after it at once.
    command = 'echo x >>"$SANDBOX/starts"; [ "$(wc -l <"$SANDBOX/starts")" = 1 ] || sleep 60; exit 1'
    job = job_of(
        run={"command": command, "max_runtime": "8s"},
        shutdown={"on_success": "keep", "on_failure": "keep"},
    )
    script = render_script(job)
    first = sandbox.run(script, QUICK)
    assert first.returncode == 1, first.stdout + first.stderr
    used = sandbox.root / f"var/lib/vastjob/runtime-{job.spec_hash}"
    assert used.read_text().strip().isdigit()  # what the first start used, in whole seconds
    second = sandbox.run(script, QUICK)
    assert second.returncode == 124
    assert "max_runtime reached" in sandbox.log_lines("vastjob")
    # Every later start ends at once: the bound is spent, whatever the number of restarts.
    third = sandbox.run(script, QUICK)
    assert third.returncode == 124
    assert int(used.read_text()) >= 8
    assert sandbox.read("starts") == "x\nx\n"  # the third start ended before its run
    assert [line for line in sandbox.log_lines("vastjob") if line.endswith("s used over every start")]
    assert _calls(sandbox) == []


def test_a_killed_start_loses_at_most_one_heartbeat_of_its_time(sandbox: Sandbox) -> None:
    job = job_of(
        run={"command": "sleep 60", "max_runtime": "1h"},
        shutdown={"on_success": "keep", "on_failure": "keep"},
    )
    target = sandbox.root / "root/vastjob/job.sh"
    target.parent.mkdir(parents=True)
    target.write_text(render_script(job))
    used = sandbox.root / f"var/lib/vastjob/runtime-{job.spec_hash}"
    proc = subprocess.Popen(
        ["bash", str(target)],
        env=sandbox.env(QUICK),
        cwd=sandbox.dir,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (used.exists() and used.read_text().strip().isdigit() and int(used.read_text()) >= 3):
            assert time.monotonic() < deadline, "no heartbeat was written"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the container killed outright: no trap runs
        proc.wait()
    assert int(used.read_text()) >= 3  # what the killed start used is kept for the next one


@pytest.mark.parametrize("brought, ok", [(100, False), (30000, True)])
def test_min_bytes_counts_what_the_download_brought_not_the_folder(
    sandbox: Sandbox, tmp_path: Path, brought: int, ok: bool
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.h5").write_bytes(os.urandom(brought))
    # The folder already holds more than min_bytes (a checkpoint of an earlier run).
    data = sandbox.root / "workspace/scripttest/data"
    data.mkdir(parents=True)
    (data / "ckpt.pt").write_bytes(os.urandom(50000))
    job = job_of(
        remotes={"store": {"type": "local"}},
        datasets={"train": {"source": f"store:{source}", "dest": "data/", "min_bytes": 20000}},
    )
    result = sandbox.run(render_script(job), QUICK)
    lines = sandbox.log_lines("data:train")
    assert f"{brought} bytes from store:{source}" in lines
    if ok:
        assert result.returncode == 0 and lines[-1] == "done"
        assert _calls(sandbox) == [DESTROY]
    else:
        assert result.returncode == 1 and "want min_bytes 20000" in lines
        assert _calls(sandbox) == [STOP]


def test_long_lines_of_parallel_steps_are_never_spliced(sandbox: Sandbox) -> None:
    # Lines of 10 KiB, over the 4 KiB bash writes at once, from two steps at the same time.
    def step(letter: str) -> dict[str, object]:
        loud = f's=$(printf "%10240s" ""); s=${{s// /{letter}}}; for i in $(seq 150); do echo "$s"; done'
        return {"id": letter, "run": loud, "needs": []}

    job = job_of(steps=[step("a"), step("b")])
    result = sandbox.run(render_script(job), QUICK)
    assert result.returncode == 0, result.stderr
    for text in (sandbox.log(), result.stdout):
        for letter in "ab":
            tag = f" [{letter}] "
            lines = [line.split(tag, 1)[1] for line in text.splitlines() if tag in line]
            assert lines.count(letter * 10240) == 150
        for line in text.splitlines():
            assert line.endswith(("]", "a" * 10240, "b" * 10240)) or len(line) < 4096, line[:80]


def test_a_bootstrap_that_cannot_write_the_script_applies_on_failure(sandbox: Sandbox) -> None:
    job = job_of(run={"command": 'touch "$SANDBOX/ran"'})
    folder = sandbox.root / "root/vastjob"
    folder.mkdir(parents=True)
    (folder / "new").symlink_to("/dev/full")  # a full disk
    boot = sandbox.dir / "onstart.sh"
    boot.write_text(render_bootstrap(job))
    proc = subprocess.run(["sh", str(boot)], env=sandbox.env(), capture_output=True, text=True, timeout=60)
    assert "No space left on device" in proc.stderr
    assert not (sandbox.dir / "ran").exists()
    assert _calls(sandbox) == [STOP]
    assert sandbox.api.instances[int(sandbox.api_id)].intended_status == "stopped"


@pytest.mark.parametrize("verb, asked", [("stop", STOP), ("destroy", DESTROY)])
def test_a_chunked_payload_that_cannot_start_the_job_applies_on_failure(
    sandbox: Sandbox, verb: str, asked: tuple[str, object]
) -> None:
    job = job_of(run={"command": 'touch "$SANDBOX/ran"'}, shutdown={"on_success": "keep", "on_failure": verb})
    script = render_script(job)
    payload = make_payload(script, "vastjob test", inline=None, on_failure=job.shutdown.on_failure)
    assert payload.form == "chunked"
    # A chunk lost on the way; the API is the sandbox's.
    env = {k: v for k, v in payload.env.items() if k not in (f"{SCRIPT_PREFIX}000", "VASTJOB_API_URL")}
    boot = sandbox.dir / "onstart.sh"
    boot.write_text(payload.onstart)
    proc = subprocess.run(
        ["bash", str(boot)], env=sandbox.env(env), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "the job was not started" in proc.stderr
    assert not (sandbox.dir / "ran").exists()
    assert _calls(sandbox) == [asked]


@pytest.mark.parametrize(
    "outcome, asked, then", [("failure", STOP, DESTROY), ("success", DESTROY, STOP)], ids=["stop", "destroy"]
)
def test_a_shutdown_refused_every_time_tries_the_other_verb_then_ends_the_container(
    sandbox: Sandbox, outcome: str, asked: tuple[str, object], then: tuple[str, object]
) -> None:
    sandbox.api.faults.refusals = [500] * 100
    init = subprocess.Popen(["sleep", "600"])  # stands in for the container's PID 1
    try:
        job = job_of(run={"command": "true" if outcome == "success" else "exit 3"})
        extra = {**QUICK, "VASTJOB_SHUTDOWN_TRIES": "2", "VASTJOB_INIT_PID": str(init.pid)}
        result = sandbox.run(render_script(job), extra)
        assert init.wait(timeout=30) == -signal.SIGTERM
    finally:
        init.kill()
        init.wait()
    assert result.returncode == (0 if outcome == "success" else 1), result.stderr
    assert _calls(sandbox) == [asked, asked, then, then]
    lines = sandbox.log_lines("vastjob")
    assert lines[-1] == f"shutdown refused every time: ending the container (PID {init.pid})"
