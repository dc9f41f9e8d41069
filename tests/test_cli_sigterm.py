"""A SIGTERM ends `vastjob emulator` and `vastjob apply --local` as Ctrl-C does: no process they started
outlives them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests.support.jobs import rented_doc

VASTJOB = [sys.executable, "-c", "from vastjob.cli import main; main()"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def under(sandbox: Path, marker: str) -> list[int]:
    """Processes whose command line has `marker` and whose environment points into `sandbox`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and f"VASTJOB_ROOT={sandbox}" in environ:
            found.append(int(entry.name))
    return found


def wait_for(check: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_sigterm_stops_the_emulator_and_its_instances_processes(tmp_path: Path) -> None:
    sandbox = tmp_path / "sb"
    proc = subprocess.Popen(
        [
            *VASTJOB,
            "emulator",
            "--sandbox",
            str(sandbox),
            "--n-offers",
            "20",
            "--step-seconds",
            "0.05",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        url = info["url"]
        offer = httpx.post(f"{url}/api/v0/bundles/", json={"limit": 1}, headers=headers).json()["offers"][0]
        body = {"image": "x", "disk": 10, "onstart": "sleep 298.25"}
        assert httpx.put(f"{url}/api/v0/asks/{offer['id']}/", json=body, headers=headers).status_code == 200
        assert wait_for(lambda: under(sandbox, "sleep 298.25"))
        pids = under(sandbox, "sleep 298.25")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping" in err
    assert wait_for(lambda: not any(alive(p) for p in pids), 10)


def test_sigterm_ends_apply_local_and_the_jobs_processes(tmp_path: Path) -> None:
    spec = tmp_path / "slow.yaml"
    doc = rented_doc(name="slow", run={"command": "sleep 297.75", "max_runtime": "10m"})
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    sandbox = (tmp_path / "sb").resolve()
    proc = subprocess.Popen(
        [*VASTJOB, "apply", str(spec), "--local", "--yes", "--sandbox", str(sandbox)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert wait_for(lambda: under(sandbox, "sleep 297.75"), 60), "the job never started"
        pids = under(sandbox, "sleep 297.75")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert wait_for(lambda: not any(alive(p) for p in pids), 10)
