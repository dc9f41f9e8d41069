"""A simulated instance for the boot figures: the burgers job's script run by bash in a temporary root, with
shims for nvidia-smi, apt, git, pip and rclone that only sleep for the simulated latencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.harness import ROOT

JOB = ROOT / "jobs" / "burgers512.yaml"
# Simulated seconds per step kind (network and installs, scaled down from real life).
LATENCIES: dict[str, float] = {"apt": 2.0, "clone": 0.5, "pip": 6.0, "data": 4.0}
SECRETS = ("B2_KEY_ID", "B2_APP_KEY", "WANDB_API_KEY")

# Each shim sleeps where the real tool would wait on the network; git's checkout leaves the run script,
# which records the moment `run` starts. $LAT_* are the latencies, $SANDBOX the simulation folder.
SHIMS: dict[str, str] = {
    "nvidia-smi": "echo 'NVIDIA H200 NVL, 143771'\n",
    "dpkg-query": "exit 1\n",
    "apt-get": 'if [ "$1" = install ]; then sleep "$LAT_APT"; fi\n',
    "git": (
        'case "$1" in\n'
        '  fetch) sleep "$LAT_CLONE" ;;\n'
        "  checkout) mkdir -p scripts && "
        """echo 'date +%s.%N >"$SANDBOX/run.t"' >scripts/run_remote_scale.sh ;;\n"""
        "esac\n"
    ),
    "python3": 'sleep "$LAT_PIP"\n',
    "rclone": (
        # lsf lists what a copy brings (min_bytes counts it): the one file of the source.
        'if [ "$1" = lsf ]; then echo burgers1d_train_000.h5; exit; fi\n'
        "for a; do d=$a; done\n"
        'sleep "$LAT_DATA"\n'
        'mkdir -p "$d" && head -c 1000001 /dev/zero >"$d/burgers1d_train_000.h5"\n'
    ),
}


def critical_path(graph_needs: Mapping[str, tuple[str, ...]], latency: Mapping[str, float]) -> float:
    """When `run` could start at the earliest: the longest chain of latencies through the step graph."""
    done: dict[str, float] = {}
    for step, needs in graph_needs.items():  # steps come in a runnable order
        start = max((done[n] for n in needs), default=0.0)
        done[step] = start + latency.get(step.split(":", 1)[0], 0.0)
    start_run = max((done[n] for n in graph_needs.get("run", ())), default=0.0)
    return start_run


@dataclass
class SimInstance:
    """One simulated container: a folder with a root, shims on PATH, and the job's script."""

    dir: Path
    script: str
    latency: Mapping[str, float]

    @classmethod
    def create(cls, folder: Path, script: str, latency: Mapping[str, float]) -> SimInstance:
        """Lay out the folder and the shims."""
        sim = cls(folder, script, latency)
        (folder / "bin").mkdir(parents=True)
        (folder / "home").mkdir()
        for name, body in SHIMS.items():
            target = folder / "bin" / name
            target.write_text("#!/bin/sh\n" + body)
            target.chmod(0o755)
        return sim

    def env(self) -> dict[str, str]:
        """What the container gives the script: no CONTAINER_API_KEY, so shutdown makes no API call."""
        env = {
            "PATH": f"{self.dir / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir / "home"),
            "LANG": "C.UTF-8",
            "SANDBOX": str(self.dir),
            "VASTJOB_ROOT": str(self.dir / "root"),
            "VASTJOB_RETRY_BASE": "0",
            **{s: "dummy" for s in SECRETS},
        }
        env.update({f"LAT_{k.upper()}": f"{v:.3f}" for k, v in self.latency.items()})
        return env

    def start(self, timeout: float = 120) -> float:
        """Run the script once, as an instance start does; seconds from launch until `run` began."""
        marker = self.dir / "run.t"
        marker.unlink(missing_ok=True)
        target = self.dir / "root/root/vastjob/job.sh"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.script)
        launched = time.time()
        proc = subprocess.run(
            ["bash", str(target)],
            env=self.env(),
            cwd=self.dir,
            timeout=timeout,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not marker.exists():
            raise RuntimeError(
                f"the script failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}"
            )
        return float(marker.read_text()) - launched

    def sequential(self, timeout: float = 120) -> float:
        """The old way: the same commands one after the other in one shell; seconds until `run` began."""
        marker = self.dir / "run.t"
        marker.unlink(missing_ok=True)
        work = self.dir / "seq"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        old = (
            "set -e\n"
            "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits\n"
            "apt-get update && apt-get install -y git python3-pip rclone build-essential\n"
            "git init -q && git fetch origin -- feature/sota_burgers_upgrades\n"
            "git checkout -q --detach FETCH_HEAD\n"
            "python3 -m pip install -e '.[dev]'\n"
            "rclone copy -- b2:pdebench/full/burgers1d/burgers1d_train_000.h5 data/pdebench/\n"
            "bash scripts/run_remote_scale.sh\n"
        )
        launched = time.time()
        subprocess.run(
            ["bash", "-c", old], env=self.env(), cwd=work, timeout=timeout, check=True, capture_output=True
        )
        return float(marker.read_text()) - launched

    def forget(self, marker_hash: str) -> None:
        """Remove one step's marker, as if that step had been interrupted before it finished."""
        (self.dir / "root/var/lib/vastjob/markers" / marker_hash).unlink(missing_ok=True)

    def markers(self) -> list[str]:
        """The markers left so far."""
        folder = self.dir / "root/var/lib/vastjob/markers"
        return sorted(os.listdir(folder)) if folder.is_dir() else []
