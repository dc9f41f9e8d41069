"""The offer query in API units, the client-side filters and the ranking, against plain offer dicts."""

from __future__ import annotations

from typing import Any

import pytest

from vastjob.spec.model import OfferSpec
from vastjob.vast.query import Offer, build_query, price, select, storage_per_hour, with_disk


def spec(**over: Any) -> OfferSpec:
    doc: dict[str, Any] = {
        "gpu": {"names": ["H200 NVL", "H100 SXM"], "count": 2, "min_vram_gb": 96},
        "max_price_per_hour": 2.5,
    }
    doc.update(over)
    return OfferSpec.from_dict(doc)


def offer(oid: int, **over: Any) -> dict[str, Any]:
    base = {
        "id": oid,
        "gpu_name": "H200 NVL",
        "num_gpus": 1,
        "gpu_ram": 143771,
        "dph_base": 1.0,
        "dph_total": 1.1,
        "storage_total_cost": 0.1,
        "storage_cost": 0.2,
        "min_bid": 0.5,
        "reliability2": 0.99,
        "geolocation": "Texas, US",
        "inet_down": 500.0,
        "dlperf_per_dphtotal": 50.0,
    }
    base.update(over)
    return base


def test_query_speaks_api_units() -> None:
    q = build_query(
        spec(min_cuda="12.4", min_reliability=0.98, min_inet_down_mbps=200, datacenter_only=True), disk_gb=200
    )
    assert q["gpu_name"] == {"in": ["H200 NVL", "H100 SXM"]}
    assert q["gpu_ram"] == {"gte": 96000}  # GB x 1000 = MB
    assert q["num_gpus"] == {"eq": 2}
    assert q["cuda_max_good"] == {"gte": 12.4}
    assert q["reliability"] == {"gte": 0.98}
    assert q["inet_down"] == {"gte": 200}
    assert q["verified"] == {"eq": True}
    assert q["datacenter"] == {"eq": True} and "hosting_type" not in q  # as the official CLI sends it
    assert q["disk_space"] == {"gte": 200}
    assert q["rentable"] == {"eq": True} and q["rented"] == {"eq": False} and q["external"] == {"eq": False}
    assert q["type"] == "on-demand"
    assert q["allocated_storage"] == 200
    assert q["order"] == [["dph_total", "asc"]]
    assert q["dph_total"] == {"lte": 2.5}
    assert "geolocation" not in q


def test_query_filters_regions_on_the_server_too() -> None:
    q = build_query(spec(regions=["US", "ca"]), disk_gb=50)
    assert q["geolocation"] == {"in": ["US", "CA"]}


def test_query_one_name_is_eq_and_bid_orders_by_min_bid() -> None:
    q = build_query(
        OfferSpec.from_dict(
            {
                "gpu": {"names": ["RTX 4090"], "count": 1},
                "max_price_per_hour": 1,
                "interruptible": True,
                "verified_only": False,
                "order": ["price", "reliability"],
            }
        ),
        disk_gb=20,
    )
    assert q["gpu_name"] == {"eq": "RTX 4090"}
    # Any host: a condition every offer passes, so the server's default (verified only) does not apply.
    assert q["verified"] == {"in": [True, False]}
    assert "gpu_ram" not in q and "hosting_type" not in q and "datacenter" not in q
    assert q["type"] == "bid"
    assert q["order"] == [["min_bid", "asc"], ["reliability", "desc"]]
    assert q["min_bid"] == {"lte": 1}


def test_regions_use_the_country_code_at_the_end() -> None:
    offers = [offer(1, geolocation="Quebec, CA"), offer(2, geolocation="Bavaria, DE"), offer(3)]
    kept = select(offers, spec(regions=["us", "CA"]), 200)
    assert [c.offer.id for c in kept] == [1, 3]


def test_price_cap_includes_storage() -> None:
    # Over the cap only once the disk is counted: 2.45 of GPU + 0.10 of disk.
    offers = [offer(1, dph_base=2.45, dph_total=2.55), offer(2, dph_base=2.3, dph_total=2.4)]
    assert [c.offer.id for c in select(offers, spec(), 200)] == [2]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["price"], [3, 2, 1]),
        (["reliability"], [1, 2, 3]),
        (["inet_down"], [2, 3, 1]),
        (["dlperf_per_dollar"], [1, 3, 2]),
    ],
)
def test_ranking_follows_order(order: list[str], expected: list[int]) -> None:
    offers = [
        offer(1, dph_total=2.0, reliability2=0.999, inet_down=100.0, dlperf_per_dphtotal=90.0),
        offer(2, dph_total=1.5, reliability2=0.995, inet_down=900.0, dlperf_per_dphtotal=10.0),
        offer(3, dph_total=1.0, reliability2=0.990, inet_down=500.0, dlperf_per_dphtotal=50.0),
    ]
    assert [c.offer.id for c in select(offers, spec(order=order), 200)] == expected


def test_ties_break_by_price_then_id() -> None:
    offers = [
        offer(9, reliability2=0.99, dph_total=1.2),
        offer(4, reliability2=0.99, dph_total=1.2),
        offer(5, reliability2=0.99, dph_total=1.0),
    ]
    assert [c.offer.id for c in select(offers, spec(order=["reliability"]), 200)] == [5, 4, 9]


def test_interruptible_bids_min_bid_plus_margin_and_holds_the_cap() -> None:
    s = spec(interruptible=True, bid_margin=0.2, max_price_per_hour=1.0)
    cand = price(Offer.from_api(offer(1, min_bid=0.5, storage_total_cost=0.1)), s, 200)
    assert cand.bid == pytest.approx(0.6)
    assert cand.price_per_hour == pytest.approx(0.7)
    # 0.8 x 1.2 = 0.96 of bid + 0.1 of disk is over a $1.00 cap.
    assert select([offer(2, min_bid=0.8, storage_total_cost=0.1)], s, 200) == []


def test_storage_falls_back_to_the_monthly_rate() -> None:
    o = Offer.from_api({"id": 1, "storage_cost": 0.73, "dph_total": 1.0})
    assert storage_per_hour(o, 100) == pytest.approx(0.1)
    o2 = Offer.from_api({"id": 2, "dph_total": 1.3, "dph_base": 1.0})
    assert storage_per_hour(o2, 100) == pytest.approx(0.3)


def test_cost_for_runtime() -> None:
    cand = select([offer(1, dph_total=2.0)], spec(), 200)[0]
    assert cand.cost_for(12 * 3600) == pytest.approx(24.0)
    assert cand.cost_for(None) is None
    assert cand.to_json(12 * 3600)["cost_for_max_runtime"] == 24.0


def test_the_cap_counts_the_jobs_disk_even_if_the_quote_counts_less() -> None:
    # Quoted with 8 GB of disk: 2.45 + 0.008 fits a $2.50 cap; with the job's 100 GB (0.10/h) it does not.
    quoted_for_8gb = offer(1, dph_base=2.45, dph_total=2.458, storage_cost=0.73, storage_total_cost=0.008)
    assert select([quoted_for_8gb], spec(), 100) == []
    (kept,) = select([quoted_for_8gb], spec(max_price_per_hour=2.6), 100)
    assert kept.price_per_hour == pytest.approx(2.55)
    bid = spec(interruptible=True, bid_margin=0.0, max_price_per_hour=1.0)
    cand = price(Offer.from_api(offer(2, min_bid=0.5, storage_cost=0.73, storage_total_cost=0.008)), bid, 100)
    assert cand.price_per_hour == pytest.approx(0.6)


def test_offers_without_the_disk_are_not_taken() -> None:
    offers = [
        offer(1, disk_space=19.9),
        offer(2, disk_space=20),
        offer(3),
        offer(4, disk_space="50"),
        offer(5, disk_space=400.0),
    ]
    assert [o["id"] for o in with_disk(offers, 20)] == [2, 5]


@pytest.mark.parametrize(
    ("name", "mib", "shown"), [("RTX 4090", 24564, "24 GiB"), ("H100 SXM", 81559, "80 GiB")]
)
def test_vram_is_shown_in_gib_as_vast_lists_it(name: str, mib: int, shown: str) -> None:
    from vastjob.vast.plan import offers_table
    from vastjob.vast.query import Candidate

    o = Offer.from_api(offer(1, gpu_name=name, gpu_ram=mib))
    table = offers_table([Candidate(o, 1.0)], None)
    assert f"  {shown}  " in table and "25 GB" not in table
    assert Candidate(o, 1.0).to_json()["vram_gib"] == round(mib / 1024, 1)
