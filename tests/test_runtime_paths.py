"""Failure paths of the onstart bootstrap, run for real: a disk that cannot be written."""

from __future__ import annotations

import subprocess

import pytest
from scriptkit import Sandbox, job_of, sandbox

from vastjob.compile import render_bootstrap, render_script

__all__ = ["sandbox"]  # fixture used by name below

pytestmark = pytest.mark.slow


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
