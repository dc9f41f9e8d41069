"""Failure paths run for real: a bootstrap on a disk that cannot be written, an image whose git config
stores credentials."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.jobs import job_of
from tests.support.script import Origin, Sandbox
from vastjob.compile import render_bootstrap, render_script
from vastjob.errors import VastjobError

pytestmark = pytest.mark.slow

GIT = shutil.which("git")


def test_a_bootstrap_that_cannot_write_the_script_keeps_the_old_one_and_starts_nothing_partial(
    sandbox: Sandbox,
) -> None:
    job = job_of(run={"command": 'touch "$SANDBOX/ran"'})
    folder = sandbox.root / "root/vastjob"
    folder.mkdir(parents=True)
    (folder / "job.sh").write_text("# the script of an earlier start\n")
    # A full disk: every write to the new script fails with ENOSPC.
    (folder / "new").symlink_to("/dev/full")
    boot = sandbox.dir / "onstart.sh"
    boot.write_text(render_bootstrap(job))
    proc = subprocess.run(["sh", str(boot)], env=sandbox.env(), capture_output=True, text=True, timeout=30)
    assert (folder / "job.sh").read_text() == "# the script of an earlier start\n"
    assert not (sandbox.dir / "ran").exists()
    assert "No space left on device" in proc.stderr
    # With the disk writable again, the next start writes the whole script and runs it.
    (folder / "new").unlink()
    proc = subprocess.run(["sh", str(boot)], env=sandbox.env(), capture_output=True, text=True, timeout=60)
    assert (folder / "job.sh").read_text() == render_script(job)
    assert (sandbox.dir / "ran").exists()


def test_the_repo_token_replaces_the_image_credential_helpers_and_is_never_stored(
    sandbox: Sandbox, origin: Origin
) -> None:
    # The image's git config stores credentials; a git that fills and then approves them, as a real
    # fetch over https does once the server accepts them.
    token = "tok-5e6f7a8b9c"
    home = sandbox.dir / "home"
    (home / ".gitconfig").write_text(
        '[credential]\n\thelper = store\n[credential "https://example.com"]\n\thelper = store\n'
    )
    ask = 'printf "protocol=https\\nhost=example.com\\n\\n"'
    sandbox.shim(
        "git",
        (
            'if [ "$1" = fetch ]; then\n'
            f'  {ask} | {GIT} credential fill >"$SANDBOX/cred" 2>&1\n'
            f'  {GIT} credential approve <"$SANDBOX/cred"\n'
            "fi\n"
            f'exec {GIT} "$@"\n'
        ),
    )
    repo = {"url": origin.url, "ref": "main", "dir": "/workspace/proj", "token_secret": "GIT_TOKEN"}
    job = job_of(repo=repo, secrets=["GIT_TOKEN"])
    result = sandbox.run(render_script(job), {"GIT_TOKEN": token})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"password={token}" in sandbox.read("cred")  # vastjob's helper answered
    for stored in home.rglob("*"):
        assert not stored.is_file() or token not in stored.read_text(errors="replace"), stored
    assert not (home / ".git-credentials").exists()


def test_a_container_output_whose_reader_is_gone_does_not_kill_the_job(sandbox: Sandbox) -> None:
    # The run waits until the reader of the script's stdout has gone, then the job goes on printing.
    wait = 'until [ -e "$SANDBOX/go" ]; do sleep 0.05; done'
    job = job_of(run={"command": f"{wait}; for i in 1 2 3; do echo line $i; done"})
    script = sandbox.root / "root/vastjob/job.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(render_script(job))
    proc = subprocess.Popen(
        ["bash", str(script)], env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    proc.stdout.close()
    (sandbox.dir / "go").touch()
    assert proc.wait(timeout=60) == 0
    assert sandbox.log_lines("run")[-2:] == ["line 3", "done"]
    end = ["job success, exit code 0: destroy", "destroy request accepted"]
    assert sandbox.log_lines("vastjob")[-2:] == end
    assert [r.method for r in sandbox.requests] == ["DELETE"]


@pytest.mark.parametrize("value", ["18446744073709551616s", "99999999999999999999999d"])
def test_a_duration_bash_cannot_hold_is_refused_instead_of_switching_the_watchdog_off(value: str) -> None:
    # ((2**64)) is 0 in bash: rendered, this max_runtime would have meant no watchdog at all.
    with pytest.raises(VastjobError, match=r"out of range|max_runtime"):
        render_script(job_of(run={"command": "true", "max_runtime": value}))
    with pytest.raises(VastjobError, match=r"out of range|timeout"):
        render_script(job_of(steps=[{"id": "long", "run": "true", "timeout": value}]))
