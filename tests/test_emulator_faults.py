"""Each fault knob of the emulator, set at start, in Python, and over `POST /_emulator/faults`."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.emulator import StartEmulator, client_of
from vastjob.emulator import Emulator, Faults
from vastjob.emulator.faults import next_utc_midnight, parse_faults

KEY = "user-key"


pytestmark = pytest.mark.emulator(n_offers=100, api_key=KEY, auto_advance=False)


def set_faults(emu: Emulator, **knobs: Any) -> dict[str, Any]:
    answer = httpx.post(f"{emu.url}/_emulator/faults", json=knobs)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def first_offer(api: httpx.Client) -> dict[str, Any]:
    offer: dict[str, Any] = api.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"][0]
    return offer


def test_rate_limit_bursts_in_each_body_form(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, rate_limit=3)
    answers = [api.get("/api/v0/instances/") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert all("retry-after" not in a.headers for a in answers[:3])
    assert answers[0].text.startswith("API requests too frequent")
    assert answers[0].headers["content-type"].startswith("text/plain")
    assert "API requests too frequent" in answers[1].json()["detail"]
    assert answers[2].json()["error"] == "rate_limit_exceeded"
    set_faults(emu, rate_limit=1, rate_limit_body="detail")
    assert set(api.get("/api/v0/instances/").json()) == {"detail"}


def test_search_quota_is_a_429_with_a_reset_time(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, search_quota=True)
    answer = api.post("/api/v0/bundles/", json={})
    assert answer.status_code == 429 and answer.json()["error"] == "search_quota_exceeded"
    reset = int(answer.headers["X-RateLimit-Reset"])
    assert reset == next_utc_midnight() and reset > time.time()
    assert api.get("/api/v0/instances/").status_code == 200, "only searches are limited"


def test_server_errors_and_route_targeting(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, server_errors=2, server_error_status=503, route="create")
    assert api.get("/api/v0/instances/").status_code == 200
    offer = first_offer(api)
    codes = [
        api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10}).status_code for _ in range(3)
    ]
    assert codes == [503, 503, 200]
    assert emu.faults.server_errors == 0


def test_offers_vanish_between_search_and_create(emu: Emulator, api: httpx.Client) -> None:
    offers = api.post("/api/v0/bundles/", json={"limit": 3}).json()["offers"]
    set_faults(emu, vanish=2)
    body = {"image": "x", "disk": 10, "cancel_unavail": True}
    gone = api.put(f"/api/v0/asks/{offers[0]['id']}/", json=body)
    assert gone.status_code == 410
    assert gone.json() | {"msg": ""} == {
        "success": False,
        "error": "no_such_ask",
        "msg": "",
        "ask_id": offers[0]["id"],
    }
    missing = api.put(f"/api/v0/asks/{offers[1]['id']}/", json={"image": "x", "disk": 10})
    assert missing.status_code == 404 and missing.json()["error"] == "no_such_ask"
    assert offers[0]["id"] not in emu.market and offers[1]["id"] not in emu.market
    assert api.put(f"/api/v0/asks/{offers[2]['id']}/", json={"image": "x", "disk": 10}).status_code == 200


def test_a_create_whose_answer_is_lost_still_creates(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, lose_create=1)
    offer = first_offer(api)
    with pytest.raises(httpx.RemoteProtocolError):
        api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, "label": "lost"})
    listed = api.get("/api/v1/instances/", params={"select_filters": '{"label": {"eq": "lost"}}'}).json()
    assert listed["total_instances"] == 1, "the create happened although nobody heard the answer"
    assert offer["id"] not in emu.market


@pytest.mark.parametrize("fail_status", ["exited", "offline"])
def test_instances_that_never_reach_running(start_emulator: StartEmulator, fail_status: str) -> None:
    faults = Faults(fail_instances=1, fail_status=fail_status)
    emu = start_emulator(n_offers=50, api_key=KEY, faults=faults, step_seconds=0.03)
    with client_of(emu, timeout=5) as api:
        offers = api.post("/api/v0/bundles/", json={"limit": 2}).json()["offers"]
        ids = [
            api.put(
                f"/api/v0/asks/{o['id']}/", json={"image": "x", "disk": 10, "onstart": "touch ran"}
            ).json()["new_contract"]
            for o in offers
        ]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and emu.instances[ids[1]].actual_status != "running":
            time.sleep(0.02)
        time.sleep(0.1)
        shown = api.get(f"/api/v0/instances/{ids[0]}/").json()["instances"]
        assert shown["actual_status"] == fail_status
        assert emu.instances[ids[1]].actual_status == "running", "only the next N instances fail"
        assert not (emu.sandbox / str(ids[0]) / "ran").exists()
        assert emu.billing(ids[0])["gpu_seconds"] == 0


def test_slow_answers(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, delay=0.3, route="list")
    # The delay shows as a client timeout shorter than it, while a patient client gets its answer.
    assert api.get("/api/v0/instances/").status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        api.get("/api/v0/instances/", timeout=0.1)
    assert api.post("/api/v0/bundles/", json={"limit": 1}, timeout=5).status_code == 200


def test_the_admin_endpoint_reads_and_refuses(emu: Emulator) -> None:
    knobs = httpx.get(f"{emu.url}/_emulator/faults").json()
    assert knobs == Faults().as_dict()
    for bad in (
        {"rate_limit": "many"},
        {"nonsense": 1},
        {"route": "everything"},
        {"fail_status": "asleep"},
        {"server_error_status": 404},
        {"rate_limit_body": "html"},
        {"vanish": -1},
    ):
        answer = httpx.post(f"{emu.url}/_emulator/faults", json=bad)
        assert answer.status_code == 400, bad
    assert httpx.get(f"{emu.url}/_emulator/faults").json() == knobs, "a refused change changes nothing"
    assert set_faults(emu, rate_limit="2", search_quota="true")["rate_limit"] == 2
    assert emu.faults.search_quota is True


def test_cli_text_form() -> None:
    assert parse_faults("rate_limit=3, route=search+create,delay=0.5") == {
        "rate_limit": "3",
        "route": "search,create",
        "delay": "0.5",
    }
    faults = Faults()
    faults.update(parse_faults("rate_limit=3,route=search+create,lose_create=1"))
    assert (faults.rate_limit, faults.routes(), faults.lose_create) == (3, ["search", "create"], 1)
    assert faults.applies("create") and not faults.applies("list")
    with pytest.raises(ValueError, match="name=value"):
        parse_faults("rate_limit")


def test_refusals_answer_their_statuses_in_turn_then_the_real(emu: Emulator, api: httpx.Client) -> None:
    set_faults(emu, refusals=[503, 200, 429], route="list")
    answers = [api.get("/api/v0/instances/") for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 200, 429, 200]
    assert [a.json() for a in answers[:3]] == [{"success": False}] * 3
    assert "instances" in answers[3].json() and emu.faults.refusals == []
    assert api.post("/api/v0/bundles/", json={"limit": 1}).status_code == 200  # other routes untouched
    faults = Faults()
    faults.update(parse_faults("refusals=500+200"))
    assert faults.refusals == [500, 200]
    for bad in ([99], [600], ["soon"], "x"):
        with pytest.raises(ValueError, match="refusals"):
            Faults().update({"refusals": bad})


def test_requests_are_recorded_as_they_arrived(start_emulator: StartEmulator) -> None:
    quiet = start_emulator(n_offers=5)
    httpx.get(f"{quiet.url}/_emulator/faults")
    assert quiet.requests == [], "a long-running emulator keeps nothing"
    emu = start_emulator(n_offers=5, record_requests=True)
    headers = {"Authorization": "Bearer k"}
    httpx.post(f"{emu.url}/api/v0/bundles/?x=1", content=b'{"limit": 1}', headers=headers)
    (seen,) = emu.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/api/v0/bundles/?x=1", b'{"limit": 1}')
    assert seen.headers["Authorization"] == "Bearer k"
