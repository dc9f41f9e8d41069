"""`select` ranks raw offers exactly as building a candidate per offer and sorting them does, and builds
a candidate only when one is read."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fig_ranking import market, select_eagerly
from vastjob.spec.model import OfferSpec
from vastjob.vast.query import Candidate, select


def spec(**over: Any) -> OfferSpec:
    doc: dict[str, Any] = {"gpu": {"names": ["H200 NVL"], "count": 1}, "max_price_per_hour": 2.5}
    doc.update(over)
    return OfferSpec.from_dict(doc)


SPECS = [
    spec(),
    spec(order=["reliability"]),
    spec(order=["inet_down", "price"]),
    spec(order=["dlperf_per_dollar", "reliability"]),
    spec(regions=["us", "DE"], max_price_per_hour=1.2),
    spec(interruptible=True, bid_margin=0.2, max_price_per_hour=1.5, order=["reliability", "price"]),
]


def ids(cands: Any) -> list[int]:
    return [c.offer.id for c in cands]


def test_a_generated_market_ranks_as_the_first_approach() -> None:
    offers = market(3000, 200)
    for s in SPECS:
        ranked = select(offers, s, 200)
        eager = select_eagerly(offers, s, 200)
        assert ids(ranked) == ids(eager)
        assert [c.price_per_hour for c in ranked] == [c.price_per_hour for c in eager]
        assert [c.bid for c in ranked] == [c.bid for c in eager]
        assert ranked == eager


# Offers with ties, missing fields and the looser types an API answer may carry.
maybe_price = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.4, 2.5]),
    st.integers(0, 3),
    st.sampled_from(["1.5", "n/a"]),
)
raw_offer = st.fixed_dictionaries(
    {
        "id": st.integers(1, 40),
        "dph_total": st.one_of(st.sampled_from([0.0, 0.9, 1.0, 2.0, 2.4, 3.0]), st.integers(0, 3)),
        "dph_base": maybe_price,
        "storage_cost": maybe_price,
        "storage_total_cost": maybe_price,
        "min_bid": maybe_price,
        "reliability2": st.sampled_from([0.9, 0.99, 0.999]),
        "inet_down": st.sampled_from([100.0, 500, 900.0]),
        "dlperf_per_dphtotal": st.sampled_from([10.0, 50.0, 90]),
        "geolocation": st.sampled_from(["Texas, US", "Quebec, CA", "Bavaria, DE", "", "US"]),
    }
)


@settings(max_examples=200, deadline=None)
@given(offers=st.lists(raw_offer, max_size=30), which=st.integers(0, len(SPECS) - 1))
def test_any_offers_rank_as_the_first_approach(offers: list[dict[str, Any]], which: int) -> None:
    s = SPECS[which]
    ranked = select(offers, s, 100)
    eager = select_eagerly(offers, s, 100)
    assert [id(c.raw) for c in ranked] == [id(c.raw) for c in eager]  # same offers, duplicate ids too
    assert [c.price_per_hour for c in ranked] == [c.price_per_hour for c in eager]


class Counting(dict[str, Any]):
    """An offer that counts reads of the fields only a built candidate parses."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        if key in ("gpu_name", "num_gpus", "gpu_ram"):
            Counting.reads += 1
        return super().get(key, default)


def test_only_the_candidates_read_are_built() -> None:
    offers = [Counting(o) for o in market(500, 200)]
    Counting.reads = 0
    ranked = select(offers, spec(), 200)
    assert len(ranked) > 100 and Counting.reads == 0
    best = ranked[0]
    assert Counting.reads == 0  # a candidate parses its offer when the offer is read
    assert best.offer.gpu_name and Counting.reads == 3
    shown = ranked[:5]
    assert [c.offer.id for c in shown] and Counting.reads == 3 * 5
    assert ranked[0] is best and shown[0] is best  # built once, the same object every time


def test_a_ranking_is_a_sequence_of_candidates() -> None:
    offers = market(200, 200)
    ranked = select(offers, spec(), 200)
    as_list = list(ranked)
    assert len(ranked) == len(as_list) and all(isinstance(c, Candidate) for c in as_list)
    assert ranked[-1] is as_list[-1] and ranked[1:3] == as_list[1:3]
    assert ranked == as_list and as_list == ranked and ranked != as_list[:-1]
    assert select([], spec(), 200) == [] and not select([], spec(), 200)
    assert ranked != "not a sequence of candidates"


def test_a_price_that_is_not_a_number_is_over_the_cap() -> None:
    offers: list[dict[str, Any]] = [
        {"id": 1, "dph_total": math.nan},
        {"id": 2, "dph_total": "NaN"},
        {"id": 3, "dph_total": 1.0},
    ]
    assert ids(select(offers, spec(), 100)) == [3]
