"""Multi-node jobs against the emulator: its overlays and loopback eth0, all-or-nothing apply, destroy,
and the variables every step of every node sees."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest

from tests.support.emulator import StartEmulator
from tests.support.jobs import rented_doc
from vastjob.emulator import Emulator
from vastjob.emulator.faults import Faults
from vastjob.errors import ApiError
from vastjob.spec.model import JobSpec
from vastjob.vast import lifecycle
from vastjob.vast.apply import Applier, ApplyOptions
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.destroy import Patience
from vastjob.vast.instance import Instance, wait_for
from vastjob.vast.labels import spec_of
from vastjob.vast.limits import ENV_ENTRY_MAX, entry_size
from vastjob.vast.multinode import MultiResult, overlay_name, rank_of
from vastjob.vast.overlays import delete_job_overlays
from vastjob.vast.reap import reap

VARS = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "NNODES",
    "NODE_RANK",
    "NPROC_PER_NODE",
    "WORLD_SIZE",
    "NCCL_SOCKET_IFNAME",
)
RECORD = "for v in " + " ".join(VARS) + ' PET_NNODES; do echo "$v=${!v}"; done > vars-$VASTJOB_STEP.txt'


def _multi(nodes: int = 2, **fields: Any) -> JobSpec:
    doc = rented_doc(nodes=nodes, **fields)
    # The default peer timeout: these tests look at success, and a loaded machine is slow to beat.
    doc["distributed"] = {"rendezvous_timeout": "1m", **doc.get("distributed", {})}
    return JobSpec.from_document(doc, source="multi.yaml")


def _client(emu: Emulator) -> VastClient:
    return VastClient(
        emu.api_key, emu.url, retry=RetryPolicy(attempts=4, base_delay=0.05), log_poll_delay=0.05
    )


# -- the emulator's overlays -----------------------------------------------------------------------------


def _offer_in_cluster(api: httpx.Client) -> dict[str, Any]:
    offers = api.post("/api/v0/bundles/", json={"limit": 2000}).json()["offers"]
    return next(o for o in offers if o.get("cluster_id"))


@pytest.mark.emulator(n_offers=400, auto_advance=False)
def test_overlays_are_created_listed_joined_and_deleted(emu: Emulator, api: httpx.Client) -> None:
    offer = _offer_in_cluster(api)
    cluster = offer["cluster_id"]
    assert api.post("/api/v0/overlay/", json={"cluster_id": cluster, "name": "net"}).json()["success"]
    assert api.post("/api/v0/overlay/", json={"cluster_id": cluster, "name": "net"}).status_code == 400
    body = {"image": "img", "disk": 10, "env": {"-n net": "1", "A": "b"}, "onstart": "sleep 1"}
    made = api.put(f"/api/v0/asks/{offer['id']}/", json=body).json()["new_contract"]
    inst = emu.state.instances[made]
    net = emu.state.overlays.by_name["net"].subnet
    assert net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
    # -n is a Docker option, not a variable; the first member's address is the subnet's second.
    assert inst.env == {"A": "b", "VASTJOB_ETH0": str(net.network_address + 2)}
    [listed] = api.get("/api/v0/overlay/").json()["overlays"]
    assert listed["name"] == "net" and listed["subnet"] == str(net) and listed["instances"] == [made]
    other = next(
        o
        for o in api.post("/api/v0/bundles/", json={"limit": 2000}).json()["offers"]
        if o.get("cluster_id") not in (None, cluster)
    )
    refused = api.put(f"/api/v0/asks/{other['id']}/", json=body)
    assert refused.status_code == 400 and "not in cluster" in refused.json()["msg"]
    assert api.request("DELETE", "/api/v0/overlay/", json={"overlay_name": "net"}).status_code == 400
    api.delete(f"/api/v0/instances/{made}/")
    assert api.request("DELETE", "/api/v0/overlay/", json={"overlay_name": "net"}).json()["success"]
    assert api.get("/api/v0/overlay/").json() == {"overlays": []}


# -- apply -------------------------------------------------------------------------------------------------


def test_a_node_that_never_runs_takes_every_node_and_the_overlay_with_it(
    start_emulator: StartEmulator,
) -> None:
    emu = start_emulator(n_offers=2000, faults=Faults(fail_instances=1))  # the first node reaches exited
    job = _multi(3)
    with pytest.raises(ApiError, match="reached exited"):
        Applier(job, lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.05)).run()
    assert len(emu.state.instances) == 3
    assert all(i.destroyed for i in emu.state.instances.values())
    assert emu.state.overlays.by_name == {}


def test_every_step_of_every_node_sees_the_variables_and_apply_is_idempotent(
    start_emulator: StartEmulator,
) -> None:
    emu = start_emulator(n_offers=2000)
    job = _multi(2, setup={"commands": [RECORD]}, run={"command": f"{RECORD}; sleep 5", "max_runtime": "5m"})
    applied = Applier(job, lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.05)).run()
    assert isinstance(applied, MultiResult) and applied.action == "created"
    again = Applier(job, lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.05)).run()
    assert again.action == "up_to_date" and isinstance(again, MultiResult) and again.nodes == applied.nodes
    nodes = [Instance.from_api(emu.state.instances[i].to_wire()) for i in applied.nodes]
    assert [rank_of(i) for i in nodes] == [0, 1]
    assert all(spec_of(i.label) == job.label and i.label and ":priced" in i.label for i in nodes)
    for node in applied.nodes:  # the helper travels in entries Vast takes, as the script's chunks do
        parts = {k: v for k, v in emu.state.instances[node].env.items() if k.startswith("VJ_MN")}
        assert len(parts) > 1 and all(entry_size(k, v) <= ENV_ENTRY_MAX for k, v in parts.items())
    with _client(emu) as client:
        for node in applied.nodes:
            waited = wait_for(client, node, lambda inst: inst.gone, poll_s=0.1, timeout_s=60)
            assert waited.state == "destroyed"  # success: on_success everywhere
    for rank, node in enumerate(applied.nodes):
        for step in ("setup", "run"):
            seen = dict(
                line.split("=", 1)
                for line in (emu.sandbox / str(node) / "workspace/tiny" / f"vars-{step}.txt")
                .read_text()
                .splitlines()
            )
            assert seen == {
                "MASTER_ADDR": emu.state.instances[applied.nodes[0]].env["VASTJOB_ETH0"],
                "MASTER_PORT": "29500",
                "NNODES": "2",
                "NODE_RANK": str(rank),
                "NPROC_PER_NODE": "1",
                "WORLD_SIZE": "2",
                "NCCL_SOCKET_IFNAME": "eth0",
                "PET_NNODES": "2",
            }
    # The nodes ended themselves; the overlay is the job's until `vastjob destroy` removes it.
    assert overlay_name(job) in emu.state.overlays.by_name
    with _client(emu) as client:
        assert delete_job_overlays(client, "tiny") == [overlay_name(job)]
    assert emu.state.overlays.by_name == {}


def test_destroy_of_a_multi_node_job_ends_every_node_and_its_overlay(start_emulator: StartEmulator) -> None:
    emu = start_emulator(n_offers=2000)
    job = _multi(2, run={"command": "sleep 60", "max_runtime": "5m"})
    applied = Applier(job, lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.05)).run()
    assert isinstance(applied, MultiResult)
    with _client(emu) as client:
        assert sorted(lifecycle.destroy(client, "tiny")) == sorted(applied.nodes)
    assert all(emu.state.instances[i].destroyed for i in applied.nodes)
    assert emu.state.overlays.by_name == {}


def test_reap_of_one_dead_node_ends_the_other_and_the_overlay(start_emulator: StartEmulator) -> None:
    emu = start_emulator(n_offers=2000)
    job = _multi(2, run={"command": "sleep 60", "max_runtime": "5m"})
    applied = Applier(job, lambda: _client(emu), options=ApplyOptions(yes=True, poll_s=0.05)).run()
    assert isinstance(applied, MultiResult)
    emu.state.advance(applied.nodes[1], "offline")  # rank 1's host died; rank 0 is well within its deadline
    with _client(emu) as client:
        result = reap(client, patience=Patience(poll_s=0.05))
    by_id = {r.verdict.instance.id: r.verdict for r in result.reaped}
    assert sorted(by_id) == sorted(applied.nodes)
    assert "a node of its job" in by_id[applied.nodes[0]].why
    assert all(emu.state.instances[i].destroyed for i in applied.nodes)
    assert emu.state.overlays.by_name == {}
