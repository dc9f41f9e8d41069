"""The emulator's reaper faults: a destroy that does not last, a script SIGKILLed under a running
container, a status_msg that never recovers, and the meter of GPU time billed past a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vastjob.emulator import Emulator
from vastjob.emulator.afterlife import label_deadline

KEY = "user-key"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(n_offers=100, sandbox=tmp_path, api_key=KEY, auto_advance=False) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as client:
        yield client


def create(api: httpx.Client, **body: Any) -> int:
    offer = api.post("/api/v0/bundles/", json={"limit": 1, "num_gpus": {"eq": 1}}).json()["offers"][0]
    answer = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, **body})
    assert answer.status_code == 200, answer.text
    instance_id: int = answer.json()["new_contract"]
    return instance_id


def show(api: httpx.Client, instance_id: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = api.get(f"/api/v0/instances/{instance_id}/").json()["instances"]
    return found


def until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_an_instance_comes_back_after_one_destroy(emu: Emulator, api: httpx.Client) -> None:
    emu.faults.update({"resurrect": 1, "resurrect_after": 0.2})
    iid = create(api)
    emu.advance(iid, "running")
    offer_id = emu.instances[iid].offer["id"]
    assert api.delete(f"/api/v0/instances/{iid}/").json()["success"] is True
    assert show(api, iid) is None  # gone for a moment
    assert until(lambda: show(api, iid) is not None)
    back = show(api, iid)
    assert back is not None and back["actual_status"] == "running"
    assert offer_id not in emu.market  # its machine is rented again
    api.delete(f"/api/v0/instances/{iid}/")
    time.sleep(0.3)
    assert show(api, iid) is None and emu.faults.resurrect == 0  # the second destroy lasts


def test_a_sigkilled_script_leaves_the_container_running_billing(emu: Emulator, api: httpx.Client) -> None:
    emu.faults.update({"kill_script": 1, "kill_script_after": 0.1})
    iid = create(api, onstart="trap 'echo trapped' EXIT; echo started; sleep 60")
    emu.advance(iid, "running")
    inst = emu.instances[iid]
    assert until(lambda: "started" in inst.container.tail(None))
    assert until(lambda: not inst.container.is_alive())
    assert "trapped" not in inst.container.tail(None)  # SIGKILL: no trap ran
    before = emu.billing(iid)["running_seconds"]
    time.sleep(0.1)
    shown = show(api, iid)
    assert shown is not None and shown["actual_status"] == "running"
    assert emu.billing(iid)["running_seconds"] > before


def test_kill_script_over_http(emu: Emulator, api: httpx.Client) -> None:
    iid = create(api, onstart="sleep 60")
    assert httpx.post(f"{emu.url}/_emulator/kill-script", json={"id": iid}).status_code == 400
    emu.advance(iid, "running")
    assert until(lambda: emu.instances[iid].container.is_alive())
    assert httpx.post(f"{emu.url}/_emulator/kill-script", json={"id": iid}).json() == {"success": True}
    assert until(lambda: not emu.instances[iid].container.is_alive())
    assert emu.instances[iid].actual_status == "running"


def test_a_status_msg_failure_never_reaches_running(tmp_path: Path) -> None:
    with Emulator(n_offers=50, sandbox=tmp_path, api_key=KEY, step_seconds=0.02) as emu:
        emu.faults.update({"fail_msg": 1})
        with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}) as api:
            bad, good = create(api), create(api)
            assert until(lambda: (show(api, good) or {}).get("actual_status") == "running")
            time.sleep(0.2)
            shown = show(api, bad)
            assert shown is not None and shown["actual_status"] == "loading"
            assert "OCI runtime create failed" in shown["status_msg"]


def test_the_meter_counts_gpu_seconds_past_the_deadline(emu: Emulator, api: httpx.Client) -> None:
    now = int(time.time())
    late = create(api, label=f"vastjob:demo:abc:c={now - 100}:b=10:d={now - 50}:k=60")
    early = create(api, label=f"vastjob:demo:abc:c={now}:b=10:d={now + 3600}:k=60")
    mine = create(api, label="my own box")
    for iid in (late, early, mine):
        emu.advance(iid, "running")
    time.sleep(0.3)
    meters = {m["id"]: m for m in httpx.get(f"{emu.url}/_emulator/billing").json()["instances"]}
    assert meters[late]["gpu_seconds_past_deadline"] > 0.1
    assert meters[early]["gpu_seconds_past_deadline"] == 0 and meters[early]["deadline"] == now + 3600
    assert meters[mine]["deadline"] is None and meters[mine]["gpu_seconds_past_deadline"] == 0
    api.delete(f"/api/v0/instances/{late}/")
    stopped_at = emu.billing(late)["gpu_seconds_past_deadline"]
    time.sleep(0.2)
    assert emu.billing(late)["gpu_seconds_past_deadline"] == pytest.approx(stopped_at, abs=0.06)


def test_label_deadline() -> None:
    assert label_deadline("vastjob:a:b:c=1:b=2:d=30:k=4") == 30
    assert label_deadline("vastjob:a:b") is None and label_deadline("box:d=3") is None
