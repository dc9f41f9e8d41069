"""A job's offer section as a Vast search query, plus the filters and ranking the server cannot do.

The server gets everything it can filter in its own units (VRAM in MB, GPU names with spaces); the client
then keeps offers in the wanted regions whose total $/h, storage for `disk_gb` included, is within the cap,
and ranks them by `offer.order`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from vastjob.spec.model import OfferSpec
from vastjob.vast.offers import (
    HOURS_PER_MONTH,
    Candidate,
    Offer,
    country_of,
    price,
    quote,
    quote_fields,
    reliability_of,
    storage_per_hour,
)

# The offer model lives in `offers`; callers import it from here too, with the query and the ranking.
__all__ = [
    "HOURS_PER_MONTH",
    "ORDER_FIELDS",
    "SEARCH_LIMIT",
    "Candidate",
    "Offer",
    "Ranking",
    "build_query",
    "price",
    "select",
    "storage_per_hour",
]

SEARCH_LIMIT = 256

# order key -> (server field, direction); the client ranks the same way after its own filters.
ORDER_FIELDS: dict[str, tuple[str, str]] = {
    "price": ("dph_total", "asc"),
    "dlperf_per_dollar": ("dlperf_per_dphtotal", "desc"),
    "reliability": ("reliability", "desc"),
    "inet_down": ("inet_down", "desc"),
}
# order key -> its rank value read from a raw offer, smaller first ("price" is the total select works out).
RANK_FIELDS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "dlperf_per_dollar": lambda d: -float(d.get("dlperf_per_dphtotal") or 0.0),
    "reliability": lambda d: -reliability_of(d),
    "inet_down": lambda d: -float(d.get("inet_down") or 0.0),
}


def build_query(offer: OfferSpec, disk_gb: float, *, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """The server-side search body for an offer section, in API units."""
    q: dict[str, Any] = {
        "rentable": {"eq": True},
        "rented": {"eq": False},
        "external": {"eq": False},
        "num_gpus": {"eq": offer.gpu.count},
        # A pre-filter only: the exact cap (with storage, or with the bid margin) is checked client-side.
        ("min_bid" if offer.interruptible else "dph_total"): {"lte": offer.max_price_per_hour},
    }
    names = list(offer.gpu.names)
    if len(names) == 1:
        q["gpu_name"] = {"eq": names[0]}
    elif names:
        q["gpu_name"] = {"in": names}
    if offer.gpu.min_vram_gb is not None:
        q["gpu_ram"] = {"gte": round(offer.gpu.min_vram_gb * 1000)}
    if offer.min_cuda is not None:
        q["cuda_max_good"] = {"gte": float(offer.min_cuda)}
    if offer.min_reliability is not None:
        q["reliability"] = {"gte": offer.min_reliability}
    if offer.min_inet_down_mbps is not None:
        q["inet_down"] = {"gte": offer.min_inet_down_mbps}
    # The server filters verified hosts unless told otherwise; the official CLI drops the key for "any".
    # Whether the server then applies its default is not documented, so "any" is a condition every
    # offer passes, which holds either way.
    q["verified"] = {"eq": True} if offer.verified_only else {"in": [True, False]}
    if offer.datacenter_only:
        q["datacenter"] = {"eq": True}  # as the official CLI sends it (not hosting_type)
    q["disk_space"] = {"gte": disk_gb}  # checked again in `select`
    if offer.regions:
        # Filtered by the server too, so the offers of a small region are not crowded out of the result
        # by cheaper ones elsewhere; `select` still checks each offer's country.
        q["geolocation"] = {"in": [r.upper() for r in offer.regions]}
    q["type"] = "bid" if offer.interruptible else "on-demand"
    q["allocated_storage"] = disk_gb
    order = [list(ORDER_FIELDS[key]) for key in offer.order if key in ORDER_FIELDS]
    if offer.interruptible:
        order = [["min_bid", d] if f == "dph_total" else [f, d] for f, d in order]
    q["order"] = order
    q["limit"] = limit
    return q


class Ranking(Sequence[Candidate]):
    """Offers that passed the filters, best first; each candidate is built the first time it is read.

    A search may answer thousands of offers while a plan shows five and apply tries them one by one, so
    only those become objects. Slices are lists; it equals any sequence of the same candidates.
    """

    def __init__(
        self,
        raws: Sequence[Mapping[str, Any]],
        totals: Sequence[float],
        bids: Sequence[float | None],
        ranked: Sequence[int],
    ) -> None:
        self._raws, self._totals, self._bids, self._ranked = raws, totals, bids, ranked
        self._built: dict[int, Candidate] = {}

    def __len__(self) -> int:
        return len(self._ranked)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...

    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...

    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self._candidate(i) for i in self._ranked[index]]
        return self._candidate(self._ranked[index])

    def __iter__(self) -> Iterator[Candidate]:
        return (self._candidate(i) for i in self._ranked)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so unhashable like them

    def __repr__(self) -> str:
        return f"Ranking({len(self)} candidates)"

    def _candidate(self, i: int) -> Candidate:
        cand = self._built.get(i)
        if cand is None:
            cand = self._built[i] = Candidate(self._raws[i], self._totals[i], self._bids[i])
        return cand


def with_disk(offers: Iterable[Mapping[str, Any]], disk_gb: float) -> list[Mapping[str, Any]]:
    """The offers that say they have at least `disk_gb` of disk: asked of the server too, but one it let
    through anyway, or one that does not say, is not rented."""
    kept = []
    for raw in offers:
        disk = raw.get("disk_space")
        if isinstance(disk, float | int) and not isinstance(disk, bool) and disk >= disk_gb:
            kept.append(raw)
    return kept


def select(offers: Iterable[Mapping[str, Any]], spec: OfferSpec, disk_gb: float) -> Ranking:
    """The offers that pass the client-side filters, best first by `spec.order`, then price, then offer
    id (equal offers keep the search's order).

    Each raw offer is priced and ranked where it lies; a candidate is built only when it is read.
    """
    regions = {r.upper() for r in spec.regions}
    cap = spec.max_price_per_hour + 1e-9
    # Parallel lists of what each kept offer needs, rather than an object per offer: objects that stay
    # alive through the loop make the garbage collector walk the whole search answer again and again.
    raws: list[Mapping[str, Any]] = []
    totals: list[float] = []
    bids: list[float | None] = []
    ids: list[float] = []
    for raw in offers:
        offer_id = float(int(raw["id"]))
        total, bid = quote(quote_fields(raw), spec, disk_gb)
        if regions and country_of(str(raw.get("geolocation") or "")) not in regions:
            continue
        if not total <= cap:  # a price that is not a number (NaN) is over any cap
            continue
        raws.append(raw)
        totals.append(total)
        bids.append(bid)
        ids.append(offer_id)
    order = [key for key in spec.order if key in ORDER_FIELDS]
    columns = [totals if key == "price" else [RANK_FIELDS[key](r) for r in raws] for key in order]
    # Rank keys: the order's values, then the price, then the id. Stable sorts from the last key to the
    # first give the order of sorting by the whole tuple, without building a tuple per offer.
    ranked = sorted(range(len(raws)), key=ids.__getitem__)
    if "price" not in order:
        columns.append(totals)  # (after a price in the order, a trailing one decides no tie)
    for column in reversed(columns):
        ranked.sort(key=column.__getitem__)
    return Ranking(raws, totals, bids, ranked)
