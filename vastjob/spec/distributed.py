"""The spec's `nodes` and `distributed` block: how the nodes of a multi-node job meet and watch each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vastjob.spec.durations import duration_seconds

Launcher = Literal["torchrun"]
# The variables vastjob sets on every node of a multi-node job; a spec's env may not set them.
PROVIDED = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "NNODES",
    "NODE_RANK",
    "NPROC_PER_NODE",
    "WORLD_SIZE",
    "NCCL_SOCKET_IFNAME",
)


def _seconds(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    seconds = duration_seconds(str(value))
    if seconds is None:
        raise ValueError(f"{value!r} is not a duration")
    return seconds


@dataclass(frozen=True)
class DistributedSpec:
    """The launcher, MASTER_PORT (the port after it carries the peer check), and the two bounds: how long
    a node may go unheard, and how long the nodes may take to find each other."""

    launcher: Launcher = "torchrun"
    port: int = 29500
    peer_timeout_s: int = 30
    rendezvous_timeout_s: int = 600

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DistributedSpec:
        """Build from the validated `distributed` block (defaults for what it leaves out)."""
        return cls(
            port=int(d.get("port", 29500)),
            peer_timeout_s=_seconds(d.get("peer_timeout"), 30),
            rendezvous_timeout_s=_seconds(d.get("rendezvous_timeout"), 600),
        )
