"""The emulator's market and query language, checked without HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vastjob.emulator import generate_offers
from vastjob.emulator.market import CATALOGUE, load_offers
from vastjob.emulator.query import HOURS_PER_MONTH, QueryError, search

OFFERS = generate_offers(0, 2000)


def test_generation_is_deterministic_per_seed() -> None:
    assert generate_offers(7, 300) == generate_offers(7, 300)
    assert generate_offers(7, 300) != generate_offers(8, 300)
    assert len({o["id"] for o in OFFERS}) == len(OFFERS) == 2000


def test_offers_carry_the_api_fields_in_api_units() -> None:
    required = {
        "id",
        "machine_id",
        "host_id",
        "gpu_name",
        "num_gpus",
        "gpu_ram",
        "gpu_total_ram",
        "cpu_ram",
        "disk_space",
        "dph_base",
        "min_bid",
        "storage_cost",
        "reliability",
        "reliability2",
        "cuda_max_good",
        "driver_version",
        "inet_down",
        "inet_up",
        "geolocation",
        "hosting_type",
        "verified",
        "dlperf",
        "compute_cap",
        "cpu_cores_effective",
        "direct_port_count",
        "score",
        "total_flops",
        "static_ip",
        "public_ipaddr",
        "rentable",
        "rented",
        "external",
        "duration",
    }
    vram = {m.name: m.vram_mib for m in CATALOGUE}
    for offer in OFFERS:
        assert required <= offer.keys()
        assert offer["num_gpus"] in (1, 2, 4, 8)
        assert offer["gpu_ram"] == vram[offer["gpu_name"]]  # MB, as nvidia-smi reports it
        assert offer["gpu_total_ram"] == offer["gpu_ram"] * offer["num_gpus"]
        assert 0 < offer["min_bid"] < offer["dph_base"]
        assert 0 < offer["reliability"] < 1
        assert offer["geolocation"].rsplit(", ", 1)[1].isupper()
        assert offer["hosting_type"] in (0, 1)
        assert offer["driver_version"].count(".") == 2


def test_market_covers_the_catalogue_with_plausible_prices() -> None:
    by_model: dict[str, list[float]] = {}
    for offer in OFFERS:
        by_model.setdefault(offer["gpu_name"], []).append(offer["dph_base"] / offer["num_gpus"])
    assert set(by_model) == {m.name for m in CATALOGUE}
    median = {name: sorted(p)[len(p) // 2] for name, p in by_model.items()}
    assert median["RTX 3090"] < median["RTX 4090"] < median["H100 SXM"] < median["H200"]
    assert median["A100 PCIE"] < median["H100 PCIE"]


def test_default_market_has_what_the_example_jobs_rent() -> None:
    h200 = search(
        OFFERS,
        {
            "gpu_name": {"eq": "H200 NVL"},
            "num_gpus": {"eq": 1},
            "gpu_ram": {"gte": 96_000},
            "dph_total": {"lte": 2.5},
            "reliability": {"gte": 0.98},
            "cuda_max_good": {"gte": 12.4},
            "inet_down": {"gte": 200},
            "allocated_storage": 200,
        },
    )
    assert h200 and all(o["dph_total"] <= 2.5 and o["disk_space"] >= 200 for o in h200)
    rtx = search(
        OFFERS,
        {
            "gpu_name": {"eq": "RTX 4090"},
            "num_gpus": {"eq": 1},
            "dph_total": {"lte": 0.8},
            "allocated_storage": 20,
        },
    )
    assert len(rtx) >= 5


def test_storage_is_folded_into_the_total_price() -> None:
    offer = next(o for o in OFFERS if o["verified"] and o["disk_space"] >= 200)
    query = {"id": {"eq": offer["id"]}, "allocated_storage": 200}
    found = search(OFFERS, query)[0]
    disk_hour = offer["storage_cost"] * 200 / HOURS_PER_MONTH
    assert found["dph_total"] == pytest.approx(offer["dph_base"] + disk_hour, abs=1e-6)
    assert found["dlperf_per_dphtotal"] == pytest.approx(offer["dlperf"] / found["dph_total"], rel=1e-3)
    too_big = search(OFFERS, {"id": {"eq": offer["id"]}, "allocated_storage": offer["disk_space"] + 1})
    assert too_big == []


def test_bid_searches_price_at_the_minimum_bid() -> None:
    offer = next(o for o in OFFERS if o["verified"])
    found = search(OFFERS, {"id": {"eq": offer["id"]}, "type": "bid", "allocated_storage": 0})[0]
    assert found["dph_total"] == pytest.approx(offer["min_bid"])
    assert found["is_bid"] is True


@pytest.mark.parametrize(
    ("op", "value", "check"),
    [
        ("eq", 2, lambda v: v == 2),
        ("neq", 2, lambda v: v != 2),
        ("gt", 2, lambda v: v > 2),
        ("gte", 2, lambda v: v >= 2),
        ("lt", 4, lambda v: v < 4),
        ("lte", 4, lambda v: v <= 4),
        ("in", [1, 8], lambda v: v in (1, 8)),
        ("notin", [1, 8], lambda v: v not in (1, 8)),
        ("gte", "4", lambda v: v >= 4),  # numbers sent as strings are coerced
        ("in", ["2", "4"], lambda v: v in (2, 4)),
    ],
)
def test_each_operator(op: str, value: object, check: object) -> None:
    found = search(OFFERS, {"num_gpus": {op: value}, "limit": 1000})
    expected = [o for o in OFFERS if o["verified"] and check(o["num_gpus"])]  # type: ignore[operator]
    assert found and len(found) == min(1000, len(expected))
    assert all(check(o["num_gpus"]) for o in found)  # type: ignore[operator]


def test_default_filters_apply_unless_the_query_overrides_them() -> None:
    unverified = [o for o in OFFERS if not o["verified"]]
    assert unverified
    assert all(o["verified"] for o in search(OFFERS, {"limit": 1000}))
    found = search(OFFERS, {"verified": {"eq": False}, "limit": 1000})
    assert {o["id"] for o in found} == {o["id"] for o in unverified}
    assert search(OFFERS, {"verified": {"eq": "false"}, "limit": 1}), "booleans sent as text are coerced"


def test_names_regions_and_versions_match_as_the_api_does() -> None:
    underscore = search(OFFERS, {"gpu_name": {"in": ["RTX_4090", "H100_SXM"]}, "limit": 1000})
    assert underscore and {o["gpu_name"] for o in underscore} == {"RTX 4090", "H100 SXM"}
    north_america = search(OFFERS, {"geolocation": {"in": ["US", "CA"]}, "limit": 1000})
    assert north_america and all(o["geolocation"][-2:] in ("US", "CA") for o in north_america)
    not_us = search(OFFERS, {"geolocation": {"notin": ["US"]}, "limit": 1000})
    assert not_us and all(not o["geolocation"].endswith("US") for o in not_us)
    texas = search(OFFERS, {"geolocation": {"eq": "Texas, US"}, "limit": 1000})
    assert texas and all(o["geolocation"] == "Texas, US" for o in texas)
    drivers = search(OFFERS, {"driver_version": {"gte": "550.100.0"}, "limit": 1000})
    assert drivers and all(int(o["driver_version"].split(".")[0]) >= 550 for o in drivers)
    as_number = search(OFFERS, {"driver_version": {"gte": 550_100_000}, "limit": 1000})
    assert {o["id"] for o in as_number} == {o["id"] for o in drivers}
    datacenter = search(OFFERS, {"datacenter": {"eq": True}, "limit": 1000})
    assert datacenter and all(o["hosting_type"] == 1 for o in datacenter)


def test_order_and_limit() -> None:
    cheap = search(OFFERS, {"order": [["dph_total", "asc"]], "limit": 20})
    assert len(cheap) == 20 and [o["rn"] for o in cheap] == list(range(1, 21))
    prices = [o["dph_total"] for o in cheap]
    assert prices == sorted(prices)
    two_keys = search(OFFERS, {"order": [["num_gpus", "desc"], ["dph_total", "asc"]], "limit": 1000})
    keys = [(-o["num_gpus"], o["dph_total"]) for o in two_keys]
    assert keys == sorted(keys)
    assert len(search(OFFERS, {})) == 64  # the default page


@pytest.mark.parametrize(
    "query",
    [
        {"num_gpus": {"about": 1}},
        {"order": "dph_total"},
        {"allocated_storage": "lots"},
        {"type": "spot"},
    ],
)
def test_malformed_queries_are_refused(query: dict[str, object]) -> None:
    with pytest.raises(QueryError):
        search(OFFERS, query)


def test_offers_load_from_a_file_in_either_shape(tmp_path: Path) -> None:
    sample = OFFERS[:3]
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(sample))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"offers": sample}))
    assert load_offers(as_list) == load_offers(wrapped) == sample
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"offers": [{"gpu_name": "RTX 4090"}]}))
    with pytest.raises(ValueError, match="list of offers"):
        load_offers(bad)
