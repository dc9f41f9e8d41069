"""The rendered script run for real by bash in a temporary root: shims for the GPU and apt, real git, real
rclone, a loopback HTTP server standing in for the Vast API."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.jobs import job_of
from tests.support.script import Origin, Sandbox
from vastjob.compile import render_bootstrap, render_script
from vastjob.compile.emit import runtime_text
from vastjob.spec.model import JobSpec

pytestmark = pytest.mark.slow

GIT = shutil.which("git")


def _repo(origin: Origin, **extra: str) -> dict[str, str]:
    return {"url": origin.url, "ref": "main", "dir": "/workspace/proj", **extra}


def _store(tmp_path: Path, size: int = 4096) -> Path:
    """A folder served by an rclone `local` remote, with one data file."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "train.h5").write_bytes(os.urandom(size))
    return store


def _gone(pid: int) -> bool:
    """Whether a process has ended: no such process, or a zombie nobody has reaped yet."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def _shutdowns(box: Sandbox) -> list[tuple[str, str, str, bytes]]:
    return [(r.method, r.path, r.headers.get("Authorization", ""), r.body) for r in box.requests]


def test_full_job_reaches_run_with_env_and_pinned_commit(
    sandbox: Sandbox, origin: Origin, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    job = job_of(
        repo=_repo(origin),
        setup={"apt": ["git", "rclone"], "pip": [["-e", "."]], "commands": ["cat VERSION > setup.txt"]},
        remotes={"store": {"type": "local"}},
        datasets={
            "train": {
                "source": f"store:{store}/train.h5",
                "dest": "data/",
                "min_bytes": 1000,
                "links": {"data/latest.h5": "train.h5"},
            }
        },
        env={"TRAIN_STAGE": "all", "QUOTED": "it's $HOME `x`"},
        run={"command": 'printf "%s|%s" "$TRAIN_STAGE" "$QUOTED" > env.txt; git rev-parse HEAD > head.txt'},
    )
    sandbox.installed("git")
    result = sandbox.run(render_script(job.pinned(origin.first)))
    assert result.returncode == 0, result.stdout + result.stderr
    proj = sandbox.root / "workspace/proj"
    assert (proj / "head.txt").read_text().strip() == origin.first
    assert (proj / "setup.txt").read_text() == "first\n"
    assert (proj / "env.txt").read_text() == "all|it's $HOME `x`"
    assert (proj / "data/train.h5").read_bytes() == (store / "train.h5").read_bytes()
    assert os.readlink(proj / "data/latest.h5") == "train.h5"
    # apt: only the missing package, after exactly one update.
    assert sandbox.apt_calls() == ["update", "install -y rclone"]
    assert sandbox.read("pip.log").splitlines() == ["-m pip install -e ."]
    # The log has timestamped lines per step, on stdout as well as in the file.
    assert any(line.endswith(" [run] done") for line in sandbox.log().splitlines())
    assert "[data:train] " in result.stdout
    assert _shutdowns(sandbox) == [
        ("DELETE", f"/api/v0/instances/{sandbox.api_id}/", f"Bearer {sandbox.api_key}", b"{}")
    ]
    assert sandbox.api_key not in sandbox.log() + result.stdout + result.stderr


def test_steps_run_in_order_and_datasets_download_while_pip_runs(
    sandbox: Sandbox, origin: Origin, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    # Each shim waits (up to 20 s) for the other to have started: run one after the other, they would fail.
    wait_for = 'i=0; until [ -e "$SANDBOX/{0}" ]; do i=$((i+1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done\n'
    sandbox.shim(
        "python3",
        'touch "$SANDBOX/pip.started"\n'
        + wait_for.format("rclone.started")
        + 'printf \'%s\\n\' "$*" >>"$SANDBOX/pip.log"\n',
    )
    sandbox.shim(
        "rclone",
        'touch "$SANDBOX/rclone.started"\n'
        + wait_for.format("pip.started")
        + f'exec {shutil.which("rclone")} "$@"\n',
    )
    job = job_of(
        repo=_repo(origin),
        setup={"pip": [["-e", "."]]},
        remotes={"store": {"type": "local"}},
        datasets={"train": {"source": f"store:{store}/train.h5", "dest": "data/"}},
    )
    result = sandbox.run(render_script(job))
    assert result.returncode == 0, result.stdout + result.stderr
    events = [line.split(" ", 1)[1] for line in sandbox.log().splitlines()]
    order = [e for e in events if e.endswith(("] start, attempt 1", "] done"))]
    assert order.index("[gpu-check] done") < order.index("[clone] start, attempt 1")
    assert order.index("[clone] done") < order.index("[pip] start, attempt 1")
    assert order.index("[clone] done") < order.index("[data:train] start, attempt 1")
    assert order.index("[run] start, attempt 1") > max(
        order.index("[pip] done"), order.index("[data:train] done")
    )
    # Both started before either finished.
    assert max(order.index("[pip] start, attempt 1"), order.index("[data:train] start, attempt 1")) < min(
        order.index("[pip] done"), order.index("[data:train] done")
    )


def test_a_step_failing_twice_is_retried_with_backoff(sandbox: Sandbox) -> None:
    flaky = (
        'n=$(cat "$SANDBOX/tries" 2>/dev/null || echo 0); echo $((n+1)) > "$SANDBOX/tries"; [ "$n" -ge 2 ]'
    )
    job = job_of(steps=[{"id": "flaky", "run": flaky, "retries": 2}])
    result = sandbox.run(render_script(job), {"VASTJOB_RETRY_BASE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert sandbox.read("tries").strip() == "3"
    lines = sandbox.log_lines("flaky")
    assert "exit code 1, retry in 1s" in lines
    assert "exit code 1, retry in 2s" in lines
    assert lines[-1] == "done"


def test_a_permanent_failure_stops_the_others_and_stops_the_instance(sandbox: Sandbox) -> None:
    job = job_of(
        setup={"commands": ["true"]},
        steps=[
            {
                "id": "slow",
                "run": 'echo $$ > "$SANDBOX/slow.pid"; sleep 60; touch "$SANDBOX/slow.finished"',
                "needs": ["setup"],
            },
            {
                "id": "broken",
                "run": 'until [ -e "$SANDBOX/slow.pid" ]; do sleep 0.05; done; exit 3',
                "needs": ["setup"],
            },
        ],
    )
    result = sandbox.run(render_script(job))
    assert result.returncode == 1
    assert sandbox.log_lines("broken")[-1] == "failed, exit code 3"
    assert not any("[run] start" in line for line in sandbox.log().splitlines())
    assert _gone(int(sandbox.read("slow.pid")))
    assert not (sandbox.dir / "slow.finished").exists()
    method, path, auth, body = _shutdowns(sandbox)[0]
    assert (method, path, auth) == (
        "PUT",
        f"/api/v0/instances/{sandbox.api_id}/",
        f"Bearer {sandbox.api_key}",
    )
    assert json.loads(body) == {"state": "stopped"}
    assert len(sandbox.requests) == 1


def test_the_watchdog_ends_a_run_past_max_runtime(sandbox: Sandbox) -> None:
    job = job_of(
        run={"command": 'echo $$ > "$SANDBOX/run.pid"; sleep 60', "max_runtime": "2s"},
        shutdown={"on_success": "destroy", "on_failure": "destroy"},
    )
    script = render_script(job)
    result = sandbox.run(script)
    assert result.returncode == 124
    assert "max_runtime reached" in sandbox.log_lines("vastjob")
    assert _gone(int(sandbox.read("run.pid")))
    # The interrupted step left no marker: the next start runs it again.
    run_hash = next(line.split()[2] for line in script.splitlines() if line.startswith("vj_def run "))
    assert not (sandbox.root / "var/lib/vastjob/markers" / run_hash).exists()
    assert (sandbox.root / "var/lib/vastjob/markers").is_dir()
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("DELETE", f"/api/v0/instances/{sandbox.api_id}/")
    ]


@pytest.mark.parametrize(
    "gpus",
    [
        ("NVIDIA GeForce RTX 4090, 24564",),  # one GPU where two are asked for
        ("NVIDIA GeForce RTX 3060, 12288", "NVIDIA GeForce RTX 3060, 12288"),  # two, too small
        ("NVIDIA A100, [N/A]", "NVIDIA A100, [N/A]"),  # memory not reported: not enough
    ],
)
def test_gpu_check_fails_fast_on_a_bad_host(sandbox: Sandbox, gpus: tuple[str, ...]) -> None:
    sandbox.gpus(*gpus)
    job = job_of(
        offer={"gpu": {"names": ["RTX 4090"], "count": 2, "min_vram_gb": 20}, "max_price_per_hour": 1},
        setup={"apt": ["git"]},
    )
    result = sandbox.run(render_script(job))
    assert result.returncode == 1
    lines = sandbox.log_lines("gpu-check")
    assert [line for line in lines if line.startswith("start")] == ["start, attempt 1"]
    assert lines[-1] == "failed, exit code 1"
    assert sandbox.log_lines("apt") == []
    assert [(r.method, r.body) for r in sandbox.requests] == [("PUT", b'{"state": "stopped"}')]


def test_a_second_start_skips_done_steps_and_reruns_a_changed_one(sandbox: Sandbox, origin: Origin) -> None:
    def job(prepare: str) -> JobSpec:
        return job_of(
            repo=_repo(origin),
            setup={"commands": ["echo setup >> ../setup.count"]},
            steps=[
                {"id": "prepare", "run": prepare, "needs": ["setup"]},
                {"id": "other", "run": "echo other >> ../other.count", "needs": ["setup"]},
            ],
            run={"command": "echo run >> ../run.count"},
            shutdown={"on_success": "keep"},
        )

    first = job("echo one >> ../prepare.count")
    assert sandbox.run(render_script(first)).returncode == 0
    assert sandbox.run(render_script(first)).returncode == 0
    work = sandbox.root / "workspace"
    assert [(work / f"{n}.count").read_text().count("\n") for n in ("setup", "prepare", "other", "run")] == [
        1,
        1,
        1,
        1,
    ]
    assert sandbox.log_lines("clone")[-1] == "done before: skipped"
    assert sandbox.log_lines("gpu-check")[-1] == "done"  # checked at every start

    changed = job("echo two >> ../prepare.count")
    assert sandbox.run(render_script(changed)).returncode == 0
    counts = [(work / f"{n}.count").read_text().count("\n") for n in ("setup", "prepare", "other", "run")]
    assert counts == [1, 2, 1, 2]  # prepare changed: it and run (after it) rerun; setup and other do not
    assert sandbox.requests == []  # shutdown: keep


def test_the_bootstrap_writes_the_same_script_and_starts_it_detached(sandbox: Sandbox) -> None:
    job = job_of(run={"command": 'echo "$$" > "$SANDBOX/run.pid"; touch "$SANDBOX/ran"'})
    boot = sandbox.dir / "onstart.sh"
    boot.write_text(render_bootstrap(job))
    proc = subprocess.run(
        ["sh", str(boot)], env=sandbox.env(), capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0
    assert (sandbox.root / "root/vastjob/job.sh").read_text() == render_script(job)
    # The background job inherited the bootstrap's stdout, so its lines reached the captured output.
    assert "[run] done" in proc.stdout
    assert (sandbox.dir / "ran").exists()


def test_a_private_token_reaches_git_only_through_the_credential_helper(
    sandbox: Sandbox, origin: Origin, tmp_path: Path
) -> None:
    # A git that shows what it would ask its credential helper, and which options it received.
    token = "tok-9a8b7c6d5e"
    sandbox.shim(
        "git",
        (
            'printf "%s\\n" "$*" >>"$SANDBOX/git.args"\n'
            'if [ "$1" = fetch ]; then\n'
            '  printf "protocol=https\\nhost=example.com\\n\\n" |\n'
            f'    {GIT} credential fill >"$SANDBOX/cred" 2>&1\n'
            "fi\n"
            f'exec {GIT} "$@"\n'
        ),
    )
    job = job_of(repo=_repo(origin, token_secret="GIT_TOKEN"), secrets=["GIT_TOKEN"])
    script = render_script(job)
    result = sandbox.run(script, {"GIT_TOKEN": token, "GIT_TERMINAL_PROMPT": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"password={token}" in sandbox.read("cred")
    for text in (
        script,
        sandbox.read("git.args"),
        sandbox.log(),
        result.stdout,
        result.stderr,
        (sandbox.root / "workspace/proj/.git/config").read_text(),
    ):
        assert token not in text


def test_steps_end_when_the_container_kills_the_script_outright(sandbox: Sandbox) -> None:
    # The local emulator (like a container stop) sends SIGKILL to onstart's process group: no trap runs.
    job = job_of(run={"command": 'echo $$ > "$SANDBOX/run.pid"; sleep 60'})
    script = sandbox.root / "root/vastjob/job.sh"
    script.parent.mkdir(parents=True)
    script.write_text(render_script(job))
    proc = subprocess.Popen(
        ["bash", str(script)],
        env=sandbox.env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (sandbox.dir / "run.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert _gone(int(sandbox.read("run.pid")))
    assert sandbox.requests == []


def test_url_datasets_are_checked_for_size_and_sha256(sandbox: Sandbox, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    blob = os.urandom(3000)
    (served / "weights.bin").write_bytes(blob)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.log_message = lambda *args: None  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/weights.bin"
    try:
        good = job_of(
            datasets={
                "w": {
                    "source": url,
                    "dest": "/data/",
                    "min_bytes": 3000,
                    "sha256": hashlib.sha256(blob).hexdigest(),
                }
            }
        )
        assert sandbox.run(render_script(good)).returncode == 0, sandbox.log()
        assert (sandbox.root / "data/weights.bin").read_bytes() == blob
        bad = job_of(
            datasets={"w": {"source": url, "dest": "/other/w.bin", "sha256": "0" * 64, "retries": 1}}
        )
        assert sandbox.run(render_script(bad)).returncode == 1
        assert (
            sandbox.log_lines("data:w").count(f"want sha256 {'0' * 64}") == 2
        )  # the first try and one retry
        assert sandbox.log_lines("data:w")[-1] == "failed, exit code 1"
        big = job_of(datasets={"w": {"source": url, "dest": "/big/w.bin", "min_bytes": 3001, "retries": 0}})
        assert sandbox.run(render_script(big)).returncode == 1
        assert "want min_bytes 3001" in sandbox.log_lines("data:w")
    finally:
        server.shutdown()
        server.server_close()


class _Recording(BaseHTTPRequestHandler):
    """A file server that answers every GET with `{"success": true}` and keeps (path, Authorization)."""

    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        data = b'{"success": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no line per request."""


def test_a_download_token_travels_in_a_header_from_stdin(sandbox: Sandbox) -> None:
    # The runtime's functions, sourced on their own, fetch from a local file server with HF_TOKEN.
    runtime = sandbox.dir / "runtime.sh"
    runtime.write_text(runtime_text())
    token = "hf_secretvalue42"
    _Recording.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    files = f"http://127.0.0.1:{server.server_address[1]}"
    snippet = f'source {shlex.quote(str(runtime))}; vj_url "$FILES/files/m.bin" out/m.bin HF_TOKEN'
    try:
        result = subprocess.run(
            ["bash", "-c", snippet],
            env=sandbox.env({"HF_TOKEN": token, "FILES": files}),
            cwd=sandbox.dir,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert _Recording.seen == [("/files/m.bin", f"Bearer {token}")]
    assert (sandbox.dir / "out/m.bin").read_text() == '{"success": true}'


def test_the_shutdown_request_is_retried_until_the_api_accepts_it_and_its_answer_is_not_printed(
    sandbox: Sandbox,
) -> None:
    # A longer outage than a few tries: giving up would leave the instance billing with nothing to do.
    sandbox.api.faults.refusals = [503, 429, 500, 502, 503, 504, 503, 429]
    job = job_of(run={"command": "exit 2"})
    result = sandbox.run(render_script(job))
    assert result.returncode == 1
    assert [(r.method, r.body) for r in sandbox.requests] == [("PUT", b'{"state": "stopped"}')] * 9
    lines = sandbox.log_lines("vastjob")
    assert lines.count("stop request failed, retry in 0s") == 8
    assert any("503" in line for line in lines)  # curl's error, in the log
    assert '"success"' not in result.stdout + result.stderr + sandbox.log()


def test_a_shutdown_answered_200_with_success_false_is_retried(sandbox: Sandbox) -> None:
    sandbox.api.faults.refusals = [200, 200]
    result = sandbox.run(render_script(job_of()))
    assert result.returncode == 0
    assert [r.method for r in sandbox.requests] == ["DELETE"] * 3
    lines = sandbox.log_lines("vastjob")
    assert lines.count('{"success": false}') == 2  # the answer that said no, in the log
    assert lines.count("destroy request failed, retry in 0s") == 2


def test_a_failure_before_the_first_step_still_ends_the_billing(sandbox: Sandbox) -> None:
    # The state folder cannot be made: a file stands where it goes.
    (sandbox.root / "var").mkdir(parents=True)
    (sandbox.root / "var/lib").write_text("not a folder\n")
    result = sandbox.run(render_script(job_of()))
    assert result.returncode != 0
    assert [(r.method, r.body) for r in sandbox.requests] == [("PUT", b'{"state": "stopped"}')]


def _leftovers(box: Sandbox) -> list[str]:
    """Processes still running with this sandbox's environment (their command lines), after a grace period
    for the step guards."""
    mark = f"SANDBOX={box.dir}".encode()
    deadline = time.monotonic() + 10
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                ours = entry.name.isdigit() and mark in (entry / "environ").read_bytes().split(b"\0")
                if ours and not _gone_now(int(entry.name)):
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _gone_now(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_no_process_outlives_the_script_when_a_failure_stops_a_step_waiting_to_retry(
    sandbox: Sandbox,
) -> None:
    job = job_of(
        steps=[
            {"id": "flaky", "run": "exit 5", "retries": 3},
            {
                "id": "broken",
                # [0]: the log also holds this command, as `+ ...`, which must not match.
                "run": 'until grep -q "retry in 30[0]s" "$VASTJOB_ROOT/var/log/vastjob/job.log"; '
                "do sleep 0.05; done; exit 3",
            },
        ]
    )
    script = sandbox.root / "root/vastjob/job.sh"
    script.parent.mkdir(parents=True)
    script.write_text(render_script(job))
    # A long backoff: flaky sleeps before its retry when broken fails for good.
    proc = subprocess.run(
        ["bash", str(script)],
        env=sandbox.env({"VASTJOB_RETRY_BASE": "300"}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "exit code 5, retry in 300s" in sandbox.log_lines("flaky")
    assert _leftovers(sandbox) == []


def test_an_abbreviated_commit_is_checked_out_from_the_history_of_the_ref(
    sandbox: Sandbox, origin: Origin
) -> None:
    # Servers only hand out a commit by its full SHA; the short one is found after fetching the ref.
    job = job_of(
        repo=_repo(origin, commit=origin.first[:7]), run={"command": "git rev-parse HEAD > head.txt"}
    )
    result = sandbox.run(render_script(job))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (sandbox.root / "workspace/proj/head.txt").read_text().strip() == origin.first


def test_checks_and_tools_take_odd_names_as_plain_words(sandbox: Sandbox) -> None:
    runtime = sandbox.dir / "runtime.sh"
    runtime.write_text(runtime_text())
    sandbox.shim("wandb", 'printf "%s\\0" "$@" >"$SANDBOX/wandb.args"\n')
    odd = sandbox.dir / "w\\eights.bin"  # sha256sum escapes such a name in its output
    odd.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    snippet = (
        f"source {shlex.quote(str(runtime))}; vj_sha256 {shlex.quote(str(odd))} {digest} && "
        "vj_wandb -x/proj/art:v1 out/"
    )
    result = subprocess.run(
        ["bash", "-c", snippet],
        env=sandbox.env(),
        cwd=sandbox.dir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    args = (sandbox.dir / "wandb.args").read_bytes().split(b"\0")[:-1]
    assert args == [b"artifact", b"get", b"--root", b"out/", b"--", b"-x/proj/art:v1"]


def test_a_step_whose_runner_dies_without_a_word_fails_the_job_instead_of_hanging_it(
    sandbox: Sandbox,
) -> None:
    # The runner (the script's background child that runs this step's attempts) is killed outright, as
    # it could be when it cannot write its marker on a full disk: the script must not wait for it forever.
    kill_runner = (
        'p=$$; while q=$(awk \'/^PPid:/ {print $2}\' /proc/$p/status) && [ "$q" != "$VJ_MAIN" ]; '
        'do p=$q; done; kill -9 "$p"'
    )
    job = job_of(run={"command": kill_runner})
    result = sandbox.run(render_script(job), timeout=60)
    assert result.returncode == 1
    assert "job failure, exit code 1: stop" in sandbox.log_lines("vastjob")
    assert [(r.method, r.body) for r in sandbox.requests] == [("PUT", b'{"state": "stopped"}')]
