"""A job's offer section as a Vast search query, plus the filters and ranking the server cannot do.

The server gets everything it can filter in its own units (VRAM in MB, GPU names with spaces); the client
then keeps offers in the wanted regions whose total $/h, storage for `disk_gb` included, is within the cap,
and ranks them by `offer.order`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vastjob.spec.model import OfferSpec

HOURS_PER_MONTH = 730.0  # Vast quotes storage in $/GB/month
SEARCH_LIMIT = 256

# order key -> (server field, direction); the client ranks the same way after its own filters.
ORDER_FIELDS: dict[str, tuple[str, str]] = {
    "price": ("dph_total", "asc"),
    "dlperf_per_dollar": ("dlperf_per_dphtotal", "desc"),
    "reliability": ("reliability", "desc"),
    "inet_down": ("inet_down", "desc"),
}


@dataclass(frozen=True)
class Offer:
    """The offer fields vastjob reads; `raw` keeps the whole API object."""

    id: int
    gpu_name: str
    num_gpus: int
    gpu_ram_mb: float
    dph_total: float
    dph_base: float | None
    min_bid: float | None
    storage_cost: float | None
    reliability: float
    geolocation: str
    inet_down: float
    dlperf_per_dphtotal: float
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Offer:
        """Build from one element of the search answer's `offers`."""
        return cls(
            id=int(d["id"]),
            gpu_name=str(d.get("gpu_name") or "?"),
            num_gpus=int(d.get("num_gpus") or 0),
            gpu_ram_mb=float(d.get("gpu_ram") or 0),
            dph_total=_price(d.get("dph_total")),
            dph_base=_opt_float(d.get("dph_base")),
            min_bid=_opt_float(d.get("min_bid")),
            storage_cost=_opt_float(d.get("storage_cost")),
            reliability=float(d.get("reliability2", d.get("reliability")) or 0.0),
            geolocation=str(d.get("geolocation") or ""),
            inet_down=float(d.get("inet_down") or 0.0),
            dlperf_per_dphtotal=float(d.get("dlperf_per_dphtotal") or 0.0),
            raw=d,
        )

    @property
    def country(self) -> str:
        """The country code, the last part of `geolocation` ("Texas, US" -> "US")."""
        return self.geolocation.rsplit(",", 1)[-1].strip().upper()


@dataclass(frozen=True)
class Candidate:
    """An offer that passed every filter, with what renting it would cost."""

    offer: Offer
    price_per_hour: float  # the total, storage included; what the cap is held to
    bid: float | None = None  # the bid sent for an interruptible rental, else None (on-demand)

    def cost_for(self, seconds: int | None) -> float | None:
        """What `seconds` of running would cost, or None without a duration."""
        return None if seconds is None else self.price_per_hour * seconds / 3600

    def to_json(self, max_runtime_s: int | None = None) -> dict[str, Any]:
        """A JSON-ready summary."""
        o = self.offer
        return {
            "id": o.id,
            "gpu_name": o.gpu_name,
            "num_gpus": o.num_gpus,
            "gpu_ram_gb": o.gpu_ram_mb / 1000,
            "price_per_hour": round(self.price_per_hour, 4),
            "bid": self.bid,
            "reliability": o.reliability,
            "geolocation": o.geolocation,
            "inet_down": o.inet_down,
            "cost_for_max_runtime": _round(self.cost_for(max_runtime_s)),
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


def storage_per_hour(offer: Offer, disk_gb: float) -> float:
    """What `disk_gb` of the offer's storage costs an hour.

    The search quotes it for `allocated_storage`; the monthly rate gives it for `disk_gb` exactly, so the
    larger of the two is held to the cap, should a quote be for less disk than the job asks.
    """
    quoted = _opt_float(offer.raw.get("storage_total_cost"))  # what the search priced for allocated_storage
    computed = None if offer.storage_cost is None else offer.storage_cost * disk_gb / HOURS_PER_MONTH
    if quoted is not None or computed is not None:
        return max(v for v in (quoted, computed) if v is not None)
    if offer.dph_base is not None:
        return max(0.0, offer.dph_total - offer.dph_base)
    return 0.0


def price(offer: Offer, spec: OfferSpec, disk_gb: float) -> Candidate:
    """The total $/h of renting an offer: on-demand as quoted (storage for `disk_gb` at least), or a bid."""
    if not spec.interruptible:
        total = offer.dph_total
        if offer.dph_base is not None and offer.storage_cost is not None:
            total = max(total, offer.dph_base + storage_per_hour(offer, disk_gb))
        return Candidate(offer, total)
    floor = offer.min_bid if offer.min_bid is not None else offer.dph_base or offer.dph_total
    bid = round(floor * (1 + spec.bid_margin), 4)
    return Candidate(offer, bid + storage_per_hour(offer, disk_gb), bid)


def select(offers: Iterable[Mapping[str, Any]], spec: OfferSpec, disk_gb: float) -> list[Candidate]:
    """The offers that pass the client-side filters, best first by `spec.order` (offer id breaks ties)."""
    regions = {r.upper() for r in spec.regions}
    kept: list[Candidate] = []
    for raw in offers:
        if not _has_disk(raw, disk_gb):
            continue  # the server was asked for this too; an offer it let through anyway is not taken
        cand = price(Offer.from_api(raw), spec, disk_gb)
        if regions and cand.offer.country not in regions:
            continue
        if cand.price_per_hour > spec.max_price_per_hour + 1e-9:
            continue
        kept.append(cand)
    return sorted(kept, key=lambda c: _rank_key(c, spec.order))


def _rank_key(cand: Candidate, order: Iterable[str]) -> tuple[float, ...]:
    o = cand.offer
    values = {
        "price": cand.price_per_hour,
        "dlperf_per_dollar": -o.dlperf_per_dphtotal,
        "reliability": -o.reliability,
        "inet_down": -o.inet_down,
    }
    return (*(values[k] for k in order if k in values), cand.price_per_hour, float(o.id))


def _has_disk(raw: Mapping[str, Any], disk_gb: float) -> bool:
    """Whether an offer says it has at least `disk_gb` of disk (one that does not say, has not)."""
    disk = raw.get("disk_space")
    return isinstance(disk, int | float) and not isinstance(disk, bool) and disk >= disk_gb


def _price(value: object) -> float:
    """An offer's $/h; one that cannot be read is infinite, so no cap lets it through."""
    read = _opt_float(value)
    return float("inf") if read is None or read != read or read < 0 else read


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
