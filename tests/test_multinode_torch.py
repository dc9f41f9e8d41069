"""Multi-node jobs with the real engine: `apply --local` of a 2-node job whose run is torchrun (gloo, CPU)
doing an all_reduce across both nodes, and the same job with one node killed mid-run.

The sandboxes of one overlay talk over their own loopback addresses, which the emulator gives each as its
eth0 (a /24 of 127.64.0.0/10 per overlay). Torch's rendezvous store listens on every interface, so each
scenario runs in a network namespace of its own (`unshare -rn`: only loopback there). Where the system
cannot make one, the scenario is skipped rather than let that store listen beyond loopback.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _torch() -> None:
    if importlib.util.find_spec("torch") is None:
        why = "torch is not importable: `make install` installs it (the `test` extra)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@cache
def _netns() -> list[str]:
    """`unshare` into private network and process namespaces where they can be made, else nothing. The
    process namespace ends every process of a scenario when it ends, even one that left its session (torch's
    workers do), so nothing outlives the test."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    wrap = [unshare, "-rn", "--pid", "--fork", "--mount-proc"]
    ok = subprocess.run([*wrap, "true"], capture_output=True, check=False).returncode == 0
    return wrap if ok else []


def _scenario(name: str, sandbox: Path) -> dict[str, Any]:
    _torch()
    wrap = _netns()
    if not wrap:
        why = "no private network namespace (unshare -rn): torch's store would listen beyond loopback"
        if os.environ.get("CI") == "true":
            pytest.fail(why)  # CI runs as root, where one can be made: a skip there would hide the test
        pytest.skip(why)
    command = [*wrap, sys.executable, "-m", "tests.support.multinode", name, str(sandbox)]
    done = subprocess.run(
        [*command, *(["--netns"] if wrap else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_two_nodes_all_reduce_with_torchrun_then_everything_is_destroyed(tmp_path: Path) -> None:
    out = _scenario("allreduce", tmp_path / "sb")
    assert out["outcome"] == "succeeded", out["logs"]
    assert len(out["nodes"]) == 2
    assert out["results"] == ["2 3.0\n", "2 3.0\n"]  # rank 0 and rank 1 each saw 1 + 2
    assert out["states"] == ["destroyed", "destroyed"]
    assert out["overlays"] == []
    for log in out["logs"]:  # each node found rank 0 on the overlay by itself
        assert "rank 0: 127." in log and "2 met" in log
        assert "job success, exit code 0: destroy" in log


@pytest.mark.parametrize(("scenario", "victim"), [("killed", 1), ("killed-rank0", 0)])
def test_a_node_killed_mid_run_ends_the_other_with_on_failure(
    scenario: str, victim: int, tmp_path: Path
) -> None:
    out = _scenario(scenario, tmp_path / "sb")
    assert out["held"], out["logs"]  # both ranks were mid-run, past their all_reduce
    assert out["victim"] == "offline"
    log = out["logs"][1 - victim]
    # The other rank noticed within the bound (END_BOUND_S past the kill) and ended with on_failure.
    assert not out["timed_out"], log[-2000:]
    assert out["other"] == "stopped"
    assert "a node failed or went unheard" in log
    assert "job failure, exit code 1: stop" in log
