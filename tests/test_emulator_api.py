"""Every endpoint of the emulator over real HTTP on 127.0.0.1, with httpx."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from vastjob.emulator import Emulator

KEY = "user-key"


pytestmark = pytest.mark.emulator(n_offers=300, api_key=KEY, auto_advance=False)


def cheapest(api: httpx.Client, **filters: Any) -> dict[str, Any]:
    query = {"order": [["dph_total", "asc"]], "limit": 1, **filters}
    offers: list[dict[str, Any]] = api.post("/api/v0/bundles/", json=query).json()["offers"]
    return offers[0]


def create(api: httpx.Client, offer_id: int, **body: Any) -> dict[str, Any]:
    answer = api.put(
        f"/api/v0/asks/{offer_id}/",
        json={"client_id": "me", "image": "python:3.11", "disk": 20, "cancel_unavail": True, **body},
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_search_answers_offers(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v0/bundles/",
        json={"num_gpus": {"eq": "1"}, "order": [["dph_total", "asc"]], "limit": 10, "allocated_storage": 50},
    )
    assert answer.status_code == 200
    offers = answer.json()["offers"]
    assert len(offers) == 10 and all(o["num_gpus"] == 1 for o in offers)
    assert [o["dph_total"] for o in offers] == sorted(o["dph_total"] for o in offers)
    bad = api.post("/api/v0/bundles/", json={"num_gpus": {"near": 1}})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    not_json = api.post("/api/v0/bundles/", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


def test_create_takes_the_offer_off_the_market_and_keeps_the_body(emu: Emulator, api: httpx.Client) -> None:
    offer = cheapest(api)
    result = create(
        api,
        offer["id"],
        label="vastjob:demo:abc",
        env={"A": "1", "B": "two words"},
        onstart="echo hi",
        price=None,
    )
    assert result["success"] is True and isinstance(result["new_contract"], int)
    assert result["instance_api_key"]
    assert offer["id"] not in emu.market
    listed = api.post("/api/v0/bundles/", json={"limit": 1000}).json()["offers"]
    assert offer["id"] not in [o["id"] for o in listed]
    path = f"/api/v0/instances/{result['new_contract']}/"
    shown = api.get(path, params={"owner": "me"}).json()["instances"]
    assert shown["id"] == result["new_contract"]
    assert shown["label"] == "vastjob:demo:abc"
    assert shown["extra_env"] == [["A", "1"], ["B", "two words"]]
    assert shown["onstart"] == "echo hi" and shown["image_uuid"] == "python:3.11"
    assert shown["disk_space"] == 20
    assert shown["actual_status"] is None and shown["intended_status"] == "running"
    assert shown["gpu_name"] == offer["gpu_name"] and shown["num_gpus"] == offer["num_gpus"]
    assert shown["dph_total"] == pytest.approx(offer["dph_base"] + offer["storage_cost"] * 20 / 730, abs=1e-5)
    assert isinstance(shown["start_date"], float)
    again = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "cancel_unavail": True})
    assert again.status_code == 410 and again.json()["error"] == "no_such_ask"
    again = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "cancel_unavail": False})
    assert again.status_code == 404 and again.json()["error"] == "no_such_ask"


def test_a_bid_create_bills_the_bid(api: httpx.Client) -> None:
    offer = cheapest(api, type="bid")
    body = {"image": "x", "disk": 10, "price": offer["min_bid"] / 2}
    low = api.put(f"/api/v0/asks/{offer['id']}/", json=body)
    assert low.status_code == 400 and low.json()["error"] == "invalid_price"
    bid = round(offer["min_bid"] * 1.1, 4)
    instance_id = create(api, offer["id"], disk=10, price=bid)["new_contract"]
    shown = api.get(f"/api/v0/instances/{instance_id}/").json()["instances"]
    assert shown["is_bid"] is True and shown["dph_base"] == pytest.approx(bid)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"onstart": "x" * 4049}, "invalid_args"),
        ({"env": "-e A=1"}, "invalid_args"),
        ({"image": None}, "invalid_args"),
        ({"disk": 10**7}, "invalid_args"),
        ({"label": "x" * 1025}, "invalid_args"),
        ({"price": 500}, "invalid_price"),
    ],
)
def test_create_refuses_invalid_bodies(
    emu: Emulator, api: httpx.Client, body: dict[str, Any], error: str
) -> None:
    offer = cheapest(api)
    answer = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, **body})
    assert answer.status_code == 400 and answer.json()["error"] == error
    assert offer["id"] in emu.market
    ok = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, "onstart": "x" * 4048})
    assert ok.status_code == 200


def test_lists_v1_pages_filters_and_orders(api: httpx.Client) -> None:
    offers = api.post("/api/v0/bundles/", json={"limit": 60}).json()["offers"]
    ids = [create(api, o["id"], disk=10, label=f"job-{i % 3}")["new_contract"] for i, o in enumerate(offers)]
    seen: list[int] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 25}
        if token:
            params["after_token"] = token
        page = api.get("/api/v1/instances/", params=params).json()
        assert page["success"] is True and page["total_instances"] == 60
        assert page["instances_found"] == len(page["instances"]) <= 25
        seen += [row["id"] for row in page["instances"]]
        pages += 1
        token = page["next_token"]
        if not token:
            break
    assert seen == sorted(ids) and pages == 3
    picked = api.get(
        "/api/v1/instances/",
        params={"select_filters": '{"label": {"eq": "job-1"}}', "order_by": '[{"col": "id", "dir": "desc"}]'},
    ).json()
    assert picked["total_instances"] == 20 and picked["label_counts"] == {"job-1": 20}
    assert [r["id"] for r in picked["instances"]] == sorted(ids[1::3], reverse=True)[:25]
    narrow = api.get("/api/v1/instances/", params={"select_cols": '["id", "label"]', "limit": 2}).json()
    assert [set(r) for r in narrow["instances"]] == [{"id", "label"}] * 2
    assert api.get("/api/v1/instances/", params={"after_token": "nonsense"}).status_code == 400
    assert api.get("/api/v1/instances/", params={"select_filters": "{"}).status_code == 400
    legacy = api.get("/api/v0/instances/").json()["instances"]
    assert sorted(r["id"] for r in legacy) == sorted(ids)


def test_stop_start_relabel_and_destroy(emu: Emulator, api: httpx.Client) -> None:
    offer = cheapest(api)
    instance_id = create(api, offer["id"])["new_contract"]
    emu.advance(instance_id, "running")
    path = f"/api/v0/instances/{instance_id}/"

    def show() -> dict[str, Any]:
        shown: dict[str, Any] = api.get(path, params={"owner": "me"}).json()["instances"]
        return shown

    assert show()["actual_status"] == "running"
    assert api.put(path, json={"state": "stopped"}).json() == {"success": True}
    assert show()["actual_status"] == "stopped" and show()["intended_status"] == "stopped"
    assert api.put(path, json={"state": "running"}).json() == {"success": True}
    assert show()["actual_status"] == "loading" and show()["intended_status"] == "running"
    assert api.put(path, json={"label": "renamed"}).json() == {"success": True}
    assert show()["label"] == "renamed"
    assert api.put(path, json={"label": "x" * 1025}).status_code == 400
    assert api.put(path, json={"state": "paused"}).status_code == 400
    assert api.put(path, json={}).status_code == 400
    assert api.request("DELETE", path, json={}).json()["success"] is True
    assert api.get(path, params={"owner": "me"}).json() == {"instances": None}
    assert api.get("/api/v0/instances/").json() == {"instances": []}
    assert offer["id"] in emu.market, "a destroyed instance frees its machine"
    assert emu.instances[instance_id].actual_status == "destroyed"
    gone = api.request("DELETE", path, json={})
    assert gone.status_code == 404 and gone.json()["success"] is False
    assert api.put(path, json={"state": "running"}).status_code == 404


def test_logs_come_through_a_result_url_that_is_briefly_missing(emu: Emulator, api: httpx.Client) -> None:
    onstart = "for i in 1 2 3 4 5; do echo line $i; done"
    instance_id = create(api, cheapest(api)["id"], onstart=onstart)["new_contract"]
    emu.advance(instance_id, "running")
    deadline = time.monotonic() + 10
    while "line 5" not in emu.instances[instance_id].container.tail(None) and time.monotonic() < deadline:
        time.sleep(0.02)
    answer = api.put(f"/api/v0/instances/request_logs/{instance_id}/", json={"tail": "2"}).json()
    assert answer["success"] is True
    url = answer["result_url"]
    assert url.startswith(emu.url)
    assert httpx.get(url).status_code == 404  # published a moment later, as the real service does
    deadline = time.monotonic() + 10
    while (result := httpx.get(url)).status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result.status_code == 200 and result.text == "line 4\nline 5\n"
    assert api.put("/api/v0/instances/request_logs/999/", json={}).status_code == 404


def test_user_auth(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.url) as anonymous:
        for key in (None, "wrong"):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            answer = anonymous.get("/api/v0/instances/", headers=headers)
            assert answer.status_code == 401
            assert answer.json() == {"success": False, "error": "auth_error", "msg": "Invalid user key"}
        legacy = anonymous.get("/api/v0/instances/", params={"api_key": KEY})
        assert legacy.status_code == 200
        assert anonymous.get("/api/v0/nothing/here/").status_code == 404
        assert anonymous.patch("/api/v0/instances/").status_code in (404, 405, 501)


def test_a_container_key_only_starts_stops_or_destroys_its_instance(emu: Emulator, api: httpx.Client) -> None:
    offers = api.post("/api/v0/bundles/", json={"limit": 2}).json()["offers"]
    mine = create(api, offers[0]["id"])
    other = create(api, offers[1]["id"])["new_contract"]
    emu.advance(mine["new_contract"], "running")
    own = f"/api/v0/instances/{mine['new_contract']}/"
    headers = {"Authorization": f"Bearer {mine['instance_api_key']}"}
    with httpx.Client(base_url=emu.url, headers=headers) as container:
        assert container.post("/api/v0/bundles/", json={}).status_code == 403
        assert container.get("/api/v0/instances/").status_code == 403
        assert container.get(own).status_code == 403
        assert container.put(own, json={"label": "mine"}).status_code == 403
        assert container.put(f"/api/v0/asks/{offers[1]['id']}/", json={"image": "x"}).status_code == 403
        assert container.put(f"/api/v0/instances/{other}/", json={"state": "stopped"}).status_code == 403
        assert container.request("DELETE", f"/api/v0/instances/{other}/", json={}).status_code == 403
        assert container.put(own, json={"state": "stopped"}).json() == {"success": True}
        assert emu.instances[mine["new_contract"]].actual_status == "stopped"
        assert container.put(own, json={"state": "running"}).json() == {"success": True}
        assert container.request("DELETE", own, json={}).json()["success"] is True
        assert emu.instances[mine["new_contract"]].actual_status == "destroyed"
        assert container.put(own, json={"state": "stopped"}).status_code == 401, "a destroyed key is dead"
    assert emu.instances[other].actual_status is None
