"""Conformance: the official `vastai` SDK drives the emulator and gets what the real service answers."""

from __future__ import annotations

import time

import pytest
from vastai import VastAI

from vastjob.emulator import Emulator

KEY = "sdk-user-key"


pytestmark = pytest.mark.emulator(n_offers=500, api_key=KEY, step_seconds=0.05)


@pytest.fixture
def sdk(emu: Emulator) -> VastAI:
    return VastAI(api_key=KEY, server_url=emu.url, retry=2)


def wait_status(sdk: VastAI, instance_id: int, wanted: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = sdk.show_instance(instance_id)
        if row and row["actual_status"] == wanted:
            found: dict[str, object] = row
            return found
        time.sleep(0.05)
    raise AssertionError(f"instance {instance_id} never reached {wanted}")


def test_search_with_a_query_string(sdk: VastAI) -> None:
    offers = sdk.search_offers(
        "gpu_name=RTX_4090 num_gpus=1 reliability>0.95 gpu_ram>=20", order="dph_total", limit=10, storage=30
    )
    assert 0 < len(offers) <= 10
    assert all(o["gpu_name"] == "RTX 4090" and o["num_gpus"] == 1 and o["reliability"] > 0.95 for o in offers)
    assert all(o["gpu_ram"] >= 20_000 and o["verified"] for o in offers)  # the CLI multiplies GB by 1000
    assert [o["dph_total"] for o in offers] == sorted(o["dph_total"] for o in offers)
    assert all(isinstance(o["datacenter"], bool) for o in offers)  # added by the SDK from hosting_type
    regions = sdk.search_offers("geolocation in [US,CA] dph<1.0", order="score-", limit=50)
    assert regions and all(o["geolocation"][-2:] in ("US", "CA") and o["dph_total"] < 1.0 for o in regions)


def test_search_with_a_dict(sdk: VastAI) -> None:
    query = {"gpu_name": {"in": ["H100 SXM", "H200"]}, "num_gpus": {"gte": 2}}
    offers = sdk.search_offers(query, order="dph_total-", limit=5, type="bid")
    assert 0 < len(offers) <= 5
    assert all(o["gpu_name"] in ("H100 SXM", "H200") and o["num_gpus"] >= 2 and o["is_bid"] for o in offers)
    prices = [o["dph_total"] for o in offers]
    assert prices == sorted(prices, reverse=True)


def test_the_whole_instance_cycle(emu: Emulator, sdk: VastAI) -> None:
    offer = sdk.search_offers("num_gpus=1", order="dph_total", limit=1)[0]
    created = sdk.create_instance(
        offer["id"],
        image="python:3.11-slim",
        disk=16,
        env={"GREETING": "hi"},
        label="conformance",
        onstart_cmd='echo "$GREETING from $CONTAINER_ID"',
        cancel_unavail=True,
    )
    assert created["success"] is True
    instance_id = created["new_contract"]
    running = wait_status(sdk, instance_id, "running")
    assert running["label"] == "conformance" and running["extra_env"] == {"GREETING": "hi"}
    assert isinstance(running["duration"], float)  # computed by the SDK from start_date
    assert [row["id"] for row in sdk.show_instances()] == [instance_id]

    deadline = time.monotonic() + 10
    while f"hi from {instance_id}" not in (text := sdk.logs(instance_id, tail="50")):
        assert time.monotonic() < deadline, text
    assert sdk.stop_instance(instance_id) == {"success": True}
    assert sdk.show_instance(instance_id)["actual_status"] == "stopped"
    assert sdk.start_instance(instance_id) == {"success": True}
    wait_status(sdk, instance_id, "running")
    assert sdk.label_instance(instance_id, "renamed") == {"success": True}
    assert sdk.show_instance(instance_id)["label"] == "renamed"
    assert sdk.destroy_instance(instance_id)["success"] is True
    assert sdk.show_instance(instance_id) is None
    assert sdk.show_instances() == []
    assert emu.billing(instance_id)["running_seconds"] > 0


def test_sdk_errors_surface_as_http_errors(emu: Emulator) -> None:
    import requests

    wrong = VastAI(api_key="not-the-key", server_url=emu.url, retry=1)
    with pytest.raises(requests.HTTPError) as info:
        wrong.show_instances()
    assert info.value.response is not None and info.value.response.status_code == 401
    sdk = VastAI(api_key=KEY, server_url=emu.url, retry=1)
    with pytest.raises(requests.HTTPError) as info:
        sdk.create_instance(1, image="x", cancel_unavail=True)
    assert info.value.response is not None and info.value.response.status_code == 410
