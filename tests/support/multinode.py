"""The two multi-node scenarios of tests/test_multinode_torch.py, runnable in a process of their own:

    python -m tests.support.multinode allreduce|killed|killed-rank0 SANDBOX [--netns]

prints what happened as one JSON object. With --netns it first brings up the loopback of the fresh
network namespace it was started in (`unshare -rn`): torch's rendezvous store listens on every interface,
and there the only one is loopback.
"""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vastjob.emulator import Emulator
from vastjob.spec.model import JobSpec
from vastjob.vast.apply import Applier, ApplyOptions
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.instance import wait_for
from vastjob.vast.local import run_local
from vastjob.vast.multinode import MultiResult

PEER_TIMEOUT_S = 10
# The bound within which the surviving node must end: the peer timeout, the run's 5 s to end its
# command, and a few heartbeats and polls.
END_BOUND_S = PEER_TIMEOUT_S + 20
# Each rank writes "WORLD_SIZE SUM" after the all_reduce of rank + 1: 2 ranks give "2 3.0".
ALLREDUCE = """cat > ar.py <<'PY'
import os, time, torch, torch.distributed as dist
dist.init_process_group("gloo")
r = dist.get_rank()
t = torch.tensor([float(r + 1)])
dist.all_reduce(t)
open(f"allreduce-{r}.txt", "w").write(f"{dist.get_world_size()} {t.item()}\\n")
dist.destroy_process_group()
time.sleep(float(os.environ.get("HOLD", "0")))
PY
"""


def job(hold: int = 0) -> JobSpec:
    """The 2-node job: torchrun (flags from the PET_ variables vastjob sets), gloo on CPU."""
    doc: dict[str, Any] = {
        "version": 1,
        "name": "allreduce",
        "workdir": "/workspace/allreduce",
        "offer": {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": 1.0},
        "instance": {"image": "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "disk_gb": 20},
        "nodes": 2,
        "distributed": {"peer_timeout": f"{PEER_TIMEOUT_S}s", "rendezvous_timeout": "2m"},
        # gloo finds its interface by name; the sandboxes share this machine's loopback.
        "env": {"GLOO_SOCKET_IFNAME": "lo", "HOLD": str(hold)},
        "setup": {"commands": [ALLREDUCE]},
        "run": {"command": "torchrun ar.py", "max_runtime": "5m"},
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }
    return JobSpec.from_document(doc, source="allreduce.yaml")


def _client(emu: Emulator) -> VastClient:
    retry = RetryPolicy(attempts=4, base_delay=0.05)
    return VastClient(emu.api_key, emu.url, retry=retry, log_poll_delay=0.05)


def _files(sandbox: Path, nodes: list[int]) -> list[Path]:
    return [sandbox / str(i) / "workspace/allreduce" / f"allreduce-{r}.txt" for r, i in enumerate(nodes)]


def _logs(sandbox: Path, nodes: list[int]) -> list[str]:
    return [(sandbox / str(i) / "var/log/vastjob/job.log").read_text(errors="replace") for i in nodes]


def allreduce(sandbox: Path) -> dict[str, Any]:
    """`apply --local` of the job: its outcome, each rank's result, the nodes' and overlays' end."""
    started: list[Emulator] = []

    def start(path: Path) -> Emulator:
        started.append(Emulator(sandbox=path))
        return started[-1]

    out = run_local(job(), start, sandbox, options=ApplyOptions(yes=True), poll_s=0.2, timeout_s=240)
    nodes = out.applied.nodes if isinstance(out.applied, MultiResult) else []
    state = started[0].state
    return {
        "outcome": out.local.outcome,
        "nodes": nodes,
        "results": [p.read_text() if p.is_file() else None for p in _files(sandbox, nodes)],
        "states": [state.instances[i].actual_status for i in nodes],
        "overlays": list(state.overlays.by_name),
        "logs": _logs(sandbox, nodes),
    }


def _until(check: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return False


def killed(sandbox: Path, victim: int = 1) -> dict[str, Any]:
    """The job holding after its all_reduce; the victim rank's host disappears; how the other rank ends,
    within the bound."""
    with Emulator(sandbox=sandbox) as emu:
        applied = Applier(
            job(hold=600), lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.2)
        ).run()
        nodes = applied.nodes if isinstance(applied, MultiResult) else []
        held = _until(lambda: all(p.is_file() for p in _files(sandbox, nodes)), 120)
        emu.state.advance(nodes[victim], "offline")  # its host disappears, and everything on it
        other = nodes[1 - victim]
        with _client(emu) as client:
            waited = wait_for(client, other, lambda inst: inst.gone, poll_s=0.2, timeout_s=END_BOUND_S)
        return {
            "held": held,
            "nodes": nodes,
            "other": waited.state,
            "timed_out": waited.timed_out,
            "victim": emu.state.instances[nodes[victim]].actual_status,
            "logs": _logs(sandbox, nodes),
        }


def loopback_up() -> None:
    """Bring up `lo` (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP): a new namespace starts with it down."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sh14x", fcntl.ioctl(s.fileno(), 0x8913, struct.pack("16sh14x", b"lo", 0)))[1]
    fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sh14x", b"lo", flags | 1))


SCENARIOS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "allreduce": allreduce,
    "killed": killed,
    "killed-rank0": lambda sandbox: killed(sandbox, victim=0),
}

if __name__ == "__main__":
    if "--netns" in sys.argv:
        loopback_up()
    print(json.dumps(SCENARIOS[sys.argv[1]](Path(sys.argv[2]))))
