"""Every documented limit of the create body, over real HTTP: just within is created, just over is refused
with the OpenAPI's 400 body, and a refused create leaves the offer on the market."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vastjob.emulator import Emulator

KEY = "user-key"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    sandbox: Path = tmp_path_factory.mktemp("limits") / "sandbox"
    with Emulator(n_offers=200, sandbox=sandbox, api_key=KEY, auto_advance=False) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as client:
        yield client


def _offer(api: httpx.Client) -> dict[str, Any]:
    query = {"order": [["dph_total", "asc"]], "limit": 1, "disk_space": {"gte": 20}}
    offers: list[dict[str, Any]] = api.post("/api/v0/bundles/", json=query).json()["offers"]
    return offers[0]


def _env(total: int, entry: int = 256) -> dict[str, str]:
    """Entries of `entry` characters (key + value) adding up to exactly `total`."""
    env, n = {}, 0
    while total > 0:
        key = f"K{n:04d}"
        size = min(entry, total)
        env[key] = "v" * (size - len(key))
        total -= size
        n += 1
    return env


# (field values just within, the same field just over, the error code, a word the message names)
CASES = [
    ({"onstart": "x" * 4048}, {"onstart": "x" * 4049}, "invalid_args", "onstart"),
    (
        {"onstart": "x" * 4000, "args_str": "y" * 96},
        {"onstart": "x" * 4000, "args_str": "y" * 97},
        "invalid_args",
        "4096",
    ),
    (
        {"onstart": "x" * 4000, "args": ["y" * 48, "z" * 48]},
        {"onstart": "x" * 4000, "args": ["y" * 48, "z" * 49]},
        "invalid_args",
        "4096",
    ),
    ({"env": {"A" * 6: "v" * 250}}, {"env": {"A" * 6: "v" * 251}}, "invalid_args", "AAAAAA"),
    ({"env": _env(32768)}, {"env": _env(32769)}, "invalid_args", "32768"),
    ({"label": "l" * 256}, {"label": "l" * 257}, "invalid_args", "label"),
    ({"image": "i" * 1024}, {"image": "i" * 1025}, "invalid_args", "image"),
    ({"disk": 8}, {"disk": 7.9}, "invalid_args", "disk"),
    ({"price": 0.001}, {"price": 0.0009}, "invalid_price", "bid"),
    ({"price": 128}, {"price": 128.01}, "invalid_price", "bid"),
]


@pytest.mark.parametrize(
    ("within", "over", "code", "word"),
    CASES,
    ids=[
        "onstart",
        "args_str",
        "args",
        "env-entry",
        "env-total",
        "label",
        "image",
        "disk",
        "bid-min",
        "bid-max",
    ],
)
def test_each_limit_refused_just_over_and_accepted_at_it(
    emu: Emulator, api: httpx.Client, within: dict[str, Any], over: dict[str, Any], code: str, word: str
) -> None:
    offer = _offer(api)
    if "price" in within:
        emu.market[offer["id"]]["min_bid"] = 0.0  # the bid's range is under test, not the offer's minimum
    base = {"client_id": "me", "image": "python:3.11", "disk": 10, "runtype": "ssh"}
    refused = api.put(f"/api/v0/asks/{offer['id']}/", json={**base, **over})
    assert refused.status_code == 400
    body = refused.json()
    assert body["success"] is False and body["error"] == code and body["ask_id"] == offer["id"]
    assert word in body["msg"]
    assert offer["id"] in emu.market, "a refused create rents nothing"
    created = api.put(f"/api/v0/asks/{offer['id']}/", json={**base, **within})
    assert created.status_code == 200, created.text
    assert created.json()["success"] is True and offer["id"] not in emu.market


def test_the_env_entry_limit_counts_the_key(api: httpx.Client) -> None:
    # 250 characters of value fit alone; under a long key the same value is over.
    offer = _offer(api)
    refused = api.put(
        f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, "env": {"LONG_KEY_NAME": "v" * 250}}
    )
    assert refused.status_code == 400 and "LONG_KEY_NAME" in refused.json()["msg"]


def test_args_of_other_types_are_refused(api: httpx.Client) -> None:
    offer = _offer(api)
    for bad in ({"args": "bash -c true"}, {"args": [1, 2]}, {"args_str": ["x"]}, {"env": {"A": None}}):
        answer = api.put(f"/api/v0/asks/{offer['id']}/", json={"image": "x", "disk": 10, **bad})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_args", bad
