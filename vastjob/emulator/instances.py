"""An emulated instance: what was asked for, where it stands in the state machine, how the API shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from vastjob.emulator.query import HOURS_PER_MONTH
from vastjob.emulator.sandbox import Container

STATUSES = ("created", "loading", "running", "stopped", "exited", "offline", "unknown", "destroyed")


@dataclass
class Instance:
    """One rented instance: what was asked for, where it stands, and what it has cost."""

    id: int
    offer: dict[str, Any]
    api_key: str
    label: str | None
    image: str | None
    env: dict[str, str]
    onstart: str | None
    disk: float
    bid: float | None
    container: Container
    runtype: str | None = None
    actual_status: str | None = None
    intended_status: str = "running"
    fail_status: str | None = None  # where provisioning ends instead of running (a fault)
    fault_msg: str | None = None  # a status_msg that never recovers: it stays loading (a fault)
    start_date: float = field(default_factory=time.time)
    changed_at: float = field(default_factory=time.monotonic)
    billed_until: float = field(default_factory=time.monotonic)
    running_seconds: float = 0.0
    storage_seconds: float = 0.0
    starts: int = 0  # how many times onstart was started

    @property
    def offer_id(self) -> int:
        """The offer (the machine) this instance holds until it is destroyed."""
        return int(self.offer["id"])

    @property
    def destroyed(self) -> bool:
        """Whether the instance is gone (kept only for inspection)."""
        return self.actual_status == "destroyed"

    @property
    def dph_total(self) -> float:
        """$/h while running: the GPU price (or the bid) plus the disk."""
        return self.dph_gpu + self.dph_disk

    @property
    def dph_gpu(self) -> float:
        """$/h for the GPUs: the bid for interruptible instances, the offer's base price otherwise."""
        return float(self.bid if self.bid is not None else self.offer.get("dph_base") or 0.0)

    @property
    def dph_disk(self) -> float:
        """$/h for the allocated disk, charged whether running or stopped."""
        return float(self.offer.get("storage_cost") or 0.0) * self.disk / HOURS_PER_MONTH

    def to_wire(self) -> dict[str, Any]:
        """The instance as the API shows it."""
        o = self.offer
        status = self.actual_status
        uptime = (time.monotonic() - self.changed_at) / 60.0 if status == "running" else 0.0
        return {
            "id": self.id,
            "label": self.label,
            "actual_status": status,
            "intended_status": self.intended_status,
            "cur_state": self.intended_status,
            "next_state": self.intended_status,
            "status_msg": self.fault_msg or _status_msg(status, self.intended_status),
            "dph_total": round(self.dph_total, 6),
            "dph_base": round(self.dph_gpu, 6),
            "storage_cost": o.get("storage_cost"),
            "storage_total_cost": round(self.dph_disk, 6),
            "is_bid": self.bid is not None,
            "min_bid": o.get("min_bid"),
            "gpu_name": o.get("gpu_name"),
            "num_gpus": o.get("num_gpus"),
            "gpu_ram": o.get("gpu_ram"),
            "gpu_totalram": o.get("gpu_total_ram"),
            "gpu_util": 0.0,
            "gpu_temp": None,
            "cuda_max_good": o.get("cuda_max_good"),
            "driver_version": o.get("driver_version"),
            "compute_cap": o.get("compute_cap"),
            "cpu_name": o.get("cpu_name"),
            "cpu_cores_effective": o.get("cpu_cores_effective"),
            "cpu_ram": o.get("cpu_ram"),
            "disk_space": self.disk,
            "disk_usage": 0.0,
            "disk_bw": o.get("disk_bw"),
            "inet_up": o.get("inet_up"),
            "inet_down": o.get("inet_down"),
            "reliability2": o.get("reliability2"),
            "geolocation": o.get("geolocation"),
            "hosting_type": o.get("hosting_type"),
            "verification": o.get("verification"),
            "machine_id": o.get("machine_id"),
            "host_id": o.get("host_id"),
            "bundle_id": o.get("bundle_id"),
            "ssh_host": "127.0.0.1",
            "ssh_port": None,
            "ssh_idx": None,
            "public_ipaddr": "127.0.0.1",
            "direct_port_count": o.get("direct_port_count"),
            "ports": {},
            "start_date": self.start_date,
            "end_date": o.get("end_date"),
            "uptime_mins": round(uptime, 2),
            "image_uuid": self.image,
            "image_runtype": self.runtype,
            "image_args": [],
            "extra_env": [[k, v] for k, v in self.env.items()],
            "onstart": self.onstart,
            "template_id": None,
            "template_hash_id": None,
            "client_run_time": 0.0,
            "time_remaining": "",
            "local_ipaddrs": "127.0.0.1",
        }


def _status_msg(status: str | None, intended: str) -> str:
    if status is None:
        return "Instance is being provisioned"
    if status == "loading":
        return "Pulling image and starting container"
    if status in ("exited", "offline", "unknown"):
        return f"Container {status}: the host did not start it"
    return f"Container {status}" if status == intended else f"{status}, going to {intended}"
