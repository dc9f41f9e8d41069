"""The emulator holds requests to Vast's OpenAPI description and answers each new fault knob as documented."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vastjob.emulator import Emulator

KEY = "user-key"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Emulator, httpx.Client]]:
    with (
        Emulator(n_offers=60, sandbox=tmp_path, api_key=KEY, auto_advance=False) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as client,
    ):
        yield emu, client


def offers(client: httpx.Client, n: int = 3) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.post("/api/v0/bundles/", json={"limit": n}).json()["offers"]
    return found


def create(client: httpx.Client, offer: dict[str, Any], **body: Any) -> httpx.Response:
    return client.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, **body})


def test_the_create_body_is_held_to_its_enums_and_label_limit(api: tuple[Emulator, httpx.Client]) -> None:
    emu, client = api
    first, second, third = offers(client)
    assert create(client, first, runtype="shell").status_code == 400
    assert create(client, first, target_state="paused").status_code == 400
    refused = create(client, first, label="x" * 257)
    assert refused.status_code == 400 and "256" in refused.json()["msg"]
    made = create(client, second, label="x" * 256, target_state="stopped").json()["new_contract"]
    assert emu.instances[made].actual_status == "stopped"
    assert create(client, third, runtype="jupyter").status_code == 200


def test_search_refuses_a_bad_key_and_an_order_not_in_pairs(api: tuple[Emulator, httpx.Client]) -> None:
    _, client = api
    bad = client.post("/api/v0/bundles/", json={"gpu_nam": {"eq": "RTX 4090"}})
    assert bad.status_code == 400 and bad.json()["msg"].endswith("gpu_nam is not a valid search key")
    assert client.post("/api/v0/bundles/", json={"order": "dph_total"}).status_code == 400
    assert client.post("/api/v0/bundles/", json={"order": [["dph_total", "up"]]}).status_code == 400
    fine = {"order": [["dph_total", "asc"]], "datacenter": {"eq": True}, "disk_space": {"gte": 10}}
    assert client.post("/api/v0/bundles/", json=fine).status_code == 200


def test_the_list_refuses_computed_and_unknown_columns(api: tuple[Emulator, httpx.Client]) -> None:
    _, client = api
    create(client, offers(client, 1)[0], label="a")

    def listing(**params: Any) -> httpx.Response:
        return client.get("/api/v1/instances/", params={k: json.dumps(v) for k, v in params.items()})

    assert listing(select_filters={"dph_total": {"lte": 1}}).status_code == 400
    assert listing(order_by=[{"col": "nonsense", "dir": "asc"}]).status_code == 400
    assert (
        listing(select_filters={"label": {"eq": "a"}}, order_by=[{"col": "id", "dir": "desc"}]).json()[
            "instances_found"
        ]
        == 1
    )


def test_unknown_ids_answer_not_found_and_the_user_is_there(api: tuple[Emulator, httpx.Client]) -> None:
    _, client = api
    gone = client.delete("/api/v0/instances/123/")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    user = client.get("/api/v0/users/current/").json()
    assert isinstance(user["id"], int) and isinstance(user["balance"], float) and "api_key" not in user


@pytest.mark.parametrize("form", ["redirect", "html", "text", "truncated", "empty", "missing"])
def test_garbled_answers_in_each_form(api: tuple[Emulator, httpx.Client], form: str) -> None:
    emu, client = api
    emu.faults.update({"garble": 1, "garble_body": form, "route": "list"})
    answer = client.get("/api/v1/instances/")
    if form == "redirect":
        assert answer.status_code == 302 and "login" in answer.headers["location"]
    else:
        assert answer.status_code == 200
        with pytest.raises(ValueError) if form != "missing" else contextlib.nullcontext():
            data = answer.json()
            assert "instances" not in data
    assert client.get("/api/v1/instances/").json()["instances"] == [], "the next answer is whole again"


def test_creates_that_act_and_answer_badly(api: tuple[Emulator, httpx.Client]) -> None:
    emu, client = api
    first, second, third = offers(client)
    emu.faults.update({"create_garbage": 1})
    cut = create(client, first)
    assert cut.status_code == 200 and cut.text.startswith('{"success": true') and len(emu.instances) == 1
    emu.faults.update({"contract_error": 1})
    named = create(client, second)
    assert named.status_code == 400 and named.json()["new_contract"] in emu.instances
    emu.faults.update({"error_after_create": 1, "server_error_status": 504})
    assert create(client, third).status_code == 504 and len(emu.instances) == 3


def test_unpriced_lagging_and_endless_lists(api: tuple[Emulator, httpx.Client]) -> None:
    emu, client = api
    made = create(client, offers(client, 1)[0]).json()["new_contract"]
    emu.faults.update({"unpriced": True, "list_lag": 3600})
    assert client.get("/api/v1/instances/").json()["instances"] == [], "not listed yet"
    shown = client.get(f"/api/v0/instances/{made}/").json()["instances"]
    assert shown["id"] == made and "dph_total" not in shown
    emu.faults.update({"list_lag": 0, "endless_list": True})
    page = client.get("/api/v1/instances/").json()
    again = client.get("/api/v1/instances/", params={"after_token": page["next_token"]}).json()
    assert page["next_token"] and again["next_token"] == page["next_token"]


def test_a_bid_can_be_left_stopped(api: tuple[Emulator, httpx.Client]) -> None:
    emu, client = api
    offer = offers(client, 1)[0]
    emu.faults.update({"bid_stopped": 1})
    made = create(client, offer, price=offer["min_bid"] * 2).json()["new_contract"]
    assert emu.instances[made].actual_status == "stopped"
