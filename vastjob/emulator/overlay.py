"""Physical clusters and overlay networks: which offers share a cluster, the `/api/v0/overlay/` endpoints,
and each member instance's own loopback address standing in for its `eth0`.

An overlay joins instances of one cluster; an instance joins by the create env key `-n NAME` (a Docker
option, never a variable of the container). Each overlay gets a /24 of 127.64.0.0/10 and each member one
address in it, given to the container as VASTJOB_ETH0, so that N sandboxes on one machine really talk.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastjob.emulator.wire import Reply, Request, error, ok

if TYPE_CHECKING:
    from vastjob.emulator.instances import Instance
    from vastjob.emulator.state import State

FIRST_CLUSTER_ID = 700
CLUSTER_SIZE = 8  # machines in one generated cluster at most
ETH0_ENV = "VASTJOB_ETH0"  # the emulator's stand-in for reading eth0's address inside the container
_NETWORK_KEY = "-n "


def assign_clusters(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Verified offers of one GPU model in one place form clusters of up to CLUSTER_SIZE machines (groups
    of one stay outside any cluster); deterministic, so a seed's market keeps its clusters."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in offers:
        if o.get("verified"):
            groups.setdefault((str(o.get("gpu_name")), str(o.get("geolocation"))), []).append(o)
    next_id = FIRST_CLUSTER_ID
    for members in groups.values():
        for start in range(0, len(members), CLUSTER_SIZE):
            chunk = members[start : start + CLUSTER_SIZE]
            if len(chunk) < 2:
                continue
            for o in chunk:
                o["cluster_id"] = next_id
            next_id += 1
    return offers


@dataclass
class Overlay:
    """One overlay network: its cluster, its subnet and the instances on it."""

    id: int
    name: str
    cluster_id: int
    subnet: ipaddress.IPv4Network
    members: dict[int, str] = field(default_factory=dict)  # instance id -> address

    def to_wire(self, live: Iterable[int]) -> dict[str, Any]:
        """The overlay as the list shows it: subnet and instance ids, not addresses."""
        ids = [i for i in self.members if i in set(live)]
        return {
            "overlay_id": self.id,
            "name": self.name,
            "cluster_id": self.cluster_id,
            "subnet": str(self.subnet),
            "instance_count": len(ids),
            "instances": ids,
        }


@dataclass
class Overlays:
    """Every overlay of the account, by name."""

    by_name: dict[str, Overlay] = field(default_factory=dict)
    _next: int = 1
    _rng: random.Random = field(default_factory=random.Random)

    def create(self, cluster_id: int, name: str) -> Overlay:
        """A new overlay with a /24 of its own, drawn at random inside 127.64.0.0/10: emulators running
        side by side (parallel test runs) then do not hand out the same addresses and ports."""
        k = self._next
        self._next += 1
        taken = {net.subnet for net in self.by_name.values()}
        while True:
            subnet = ipaddress.IPv4Network(
                f"127.{self._rng.randrange(64, 128)}.{self._rng.randrange(256)}.0/24"
            )
            if subnet not in taken:
                break
        self.by_name[name] = Overlay(k, name, cluster_id, subnet)
        return self.by_name[name]


def network_of(env: dict[str, Any]) -> str | None:
    """The overlay a create body's env joins (`-n NAME`), or None."""
    names = [k[len(_NETWORK_KEY) :].strip() for k in env if str(k).startswith(_NETWORK_KEY)]
    return names[0] if names else None


def check_join(state: State, body: dict[str, Any], offer: dict[str, Any]) -> Reply | None:
    """The 400 for a create that joins an overlay it cannot: unknown, or of another cluster."""
    name = network_of(body.get("env") or {})
    if name is None:
        return None
    net = state.overlays.by_name.get(name)
    if net is None:
        return error(400, "invalid_args", f"Invalid args: no overlay named {name!r}")
    if offer.get("cluster_id") != net.cluster_id:
        where = f"cluster {net.cluster_id} of overlay {name}"
        return error(400, "invalid_args", f"Invalid args: offer {offer.get('id')} is not in {where}")
    return None


def join(state: State, inst: Instance) -> None:
    """Put a new instance on the overlay its env names: its next address, given as VASTJOB_ETH0."""
    name = network_of(inst.env)
    if name is None:
        return
    for key in [k for k in inst.env if k.startswith(_NETWORK_KEY)]:
        del inst.env[key]  # a Docker option on Vast, not a variable of the container
    net = state.overlays.by_name[name]
    address = str(net.subnet.network_address + 2 + len(net.members))
    net.members[inst.id] = address
    inst.env[ETH0_ENV] = address


def create_overlay(state: State, req: Request) -> Reply:
    """`POST /api/v0/overlay/` `{cluster_id, name}`."""
    body = req.body if isinstance(req.body, dict) else {}
    name, cluster = body.get("name"), body.get("cluster_id")
    if not isinstance(name, str) or not name or not isinstance(cluster, int) or isinstance(cluster, bool):
        return error(400, "invalid_args", "Invalid args: give cluster_id (a number) and name")
    with state.lock:
        if name in state.overlays.by_name:
            return error(400, "invalid_args", f"Invalid args: an overlay named {name!r} exists")
        if not any(o.get("cluster_id") == cluster for o in state.market.all_offers()):
            return error(400, "invalid_args", f"Invalid args: no cluster {cluster}")
        net = state.overlays.create(cluster, name)
    return ok(msg=f"Overlay {name} created.", overlay_id=net.id)


def list_overlays(state: State, req: Request) -> Reply:
    """`GET /api/v0/overlay/`: `{"overlays": [...]}`, each with its subnet and instance ids (the shape is a
    guess: the real answer was not seen)."""
    with state.lock:
        live = [i.id for i in state.fleet.live()]
        return Reply(200, {"overlays": [net.to_wire(live) for net in state.overlays.by_name.values()]})


def delete_overlay(state: State, req: Request) -> Reply:
    """`DELETE /api/v0/overlay/` `{overlay_name}` or `{overlay_id}`; refused while an instance is on it."""
    body = req.body if isinstance(req.body, dict) else {}
    with state.lock:
        found = [
            n
            for n in state.overlays.by_name.values()
            if n.name == body.get("overlay_name") or n.id == body.get("overlay_id")
        ]
        if not found:
            return error(404, "no_such_overlay", "Overlay not found.")
        live = {i.id for i in state.fleet.live()}
        if any(i in live for i in found[0].members):
            return error(400, "overlay_in_use", f"Overlay {found[0].name} still has instances.")
        del state.overlays.by_name[found[0].name]
    return ok(msg=f"Overlay {found[0].name} deleted.")
