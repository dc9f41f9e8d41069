"""One offer as vastjob reads it, and what renting it would cost: on-demand as quoted, or a bid.

The price is worked out from a handful of the API object's fields (`quote_fields`), so that ranking can
price raw offers without building an `Offer` for each; `Candidate` parses the rest on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vastjob.spec.model import OfferSpec

HOURS_PER_MONTH = 730.0  # Vast quotes storage in $/GB/month

# What pricing reads of an offer: dph_total, dph_base, storage_cost, storage_total_cost, min_bid.
QuoteFields = tuple[float, float | None, float | None, float | None, float | None]


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
        offer_id = int(d["id"])
        dph_total, dph_base, storage_cost, _, min_bid = quote_fields(d)
        return cls(
            id=offer_id,
            gpu_name=str(d.get("gpu_name") or "?"),
            num_gpus=int(d.get("num_gpus") or 0),
            gpu_ram_mb=float(d.get("gpu_ram") or 0),
            dph_total=dph_total,
            dph_base=dph_base,
            min_bid=min_bid,
            storage_cost=storage_cost,
            reliability=reliability_of(d),
            geolocation=str(d.get("geolocation") or ""),
            inet_down=float(d.get("inet_down") or 0.0),
            dlperf_per_dphtotal=float(d.get("dlperf_per_dphtotal") or 0.0),
            raw=d,
        )

    @property
    def vram_gib(self) -> float:
        """VRAM per GPU in GiB, as Vast's listings show it (`gpu_ram` is MiB: 24564 is a 24 GB 4090)."""
        return self.gpu_ram_mb / 1024

    @property
    def country(self) -> str:
        """The country code, the last part of `geolocation` ("Texas, US" -> "US")."""
        return country_of(self.geolocation)


class Candidate:
    """An offer that passed every filter, with what renting it would cost.

    Made from an `Offer`, or from the raw API object, whose `Offer` is then parsed when first read: a
    ranking of many offers builds only the candidates' prices, and parses the few that are shown or tried.
    """

    __slots__ = ("_offer", "bid", "price_per_hour", "raw")

    def __init__(self, offer: Offer | Mapping[str, Any], price_per_hour: float, bid: float | None = None):
        self._offer = offer if isinstance(offer, Offer) else None
        self.raw: Mapping[str, Any] = offer.raw if isinstance(offer, Offer) else offer
        self.price_per_hour = price_per_hour  # the total, storage included; what the cap is held to
        self.bid = bid  # the bid sent for an interruptible rental, else None (on-demand)

    @property
    def offer(self) -> Offer:
        """The offer, parsed from the API object on first use."""
        if self._offer is None:
            self._offer = Offer.from_api(self.raw)
        return self._offer

    def _fields(self) -> tuple[Offer, float, float | None]:
        return (self.offer, self.price_per_hour, self.bid)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Candidate(offer={self.offer!r}, price_per_hour={self.price_per_hour!r}, bid={self.bid!r})"

    def cost_for(self, seconds: int | None) -> float | None:
        """What `seconds` of running would cost, or None without a duration."""
        return None if seconds is None else self.price_per_hour * seconds / 3600

    def to_json(self, max_runtime_s: int | None = None) -> dict[str, Any]:
        """A JSON-ready summary."""
        o = self.offer
        cost = self.cost_for(max_runtime_s)
        return {
            "id": o.id,
            "gpu_name": o.gpu_name,
            "num_gpus": o.num_gpus,
            "gpu_ram_gb": o.gpu_ram_mb / 1000,
            "vram_gib": round(o.vram_gib, 1),
            "price_per_hour": round(self.price_per_hour, 4),
            "bid": self.bid,
            "reliability": o.reliability,
            "geolocation": o.geolocation,
            "inet_down": o.inet_down,
            "cost_for_max_runtime": None if cost is None else round(cost, 2),
        }


def quote_fields(d: Mapping[str, Any]) -> QuoteFields:
    """The fields pricing reads, converted as `Offer` holds them (an unreadable optional one is None)."""
    # Runs once per offer of a search: floats, the usual case, skip the call to opt_float. (A zero
    # dph_total takes the slow path, which makes -0.0 the 0.0 that `or 0.0` gives.)
    get = d.get
    total, base, rate, quoted, min_bid = (
        get("dph_total"),
        get("dph_base"),
        get("storage_cost"),
        get("storage_total_cost"),
        get("min_bid"),
    )
    return (
        total if type(total) is float and total else _price(total),
        base if type(base) is float else opt_float(base),
        rate if type(rate) is float else opt_float(rate),
        quoted if type(quoted) is float else opt_float(quoted),
        min_bid if type(min_bid) is float else opt_float(min_bid),
    )


def _price(value: object) -> float:
    """An offer's $/h; one missing or unreadable is infinite, so no cap lets it through."""
    read = opt_float(value)
    return float("inf") if read is None or read != read or read < 0 else read + 0.0


def quote(fields: QuoteFields, spec: OfferSpec, disk_gb: float) -> tuple[float, float | None]:
    """The total $/h of renting (storage for `disk_gb` at least) and the bid, None when on-demand."""
    dph_total, dph_base, storage_cost, quoted, min_bid = fields
    if not spec.interruptible:
        if dph_base is not None and storage_cost is not None:
            with_disk = dph_base + _storage(dph_total, dph_base, storage_cost, quoted, disk_gb)
            return (with_disk if with_disk > dph_total else dph_total), None
        return dph_total, None
    floor = min_bid if min_bid is not None else dph_base or dph_total
    bid = round(floor * (1 + spec.bid_margin), 4)
    return bid + _storage(dph_total, dph_base, storage_cost, quoted, disk_gb), bid


def _storage(
    dph_total: float, dph_base: float | None, storage_cost: float | None, quoted: float | None, disk_gb: float
) -> float:
    # The search quotes storage for `allocated_storage`; the monthly rate gives it for `disk_gb` exactly,
    # so the larger of the two is held to the cap, should a quote be for less disk than the job asks.
    # (Plain comparisons rather than max(): this runs once per offer of a search.)
    if storage_cost is not None:
        computed = storage_cost * disk_gb / HOURS_PER_MONTH
        return computed if quoted is None or computed > quoted else quoted
    if quoted is not None:
        return quoted
    if dph_base is not None:
        return max(0.0, dph_total - dph_base)
    return 0.0


def storage_per_hour(offer: Offer, disk_gb: float) -> float:
    """What `disk_gb` of the offer's storage costs an hour (the larger of the quote and the monthly rate)."""
    quoted = opt_float(offer.raw.get("storage_total_cost"))
    return _storage(offer.dph_total, offer.dph_base, offer.storage_cost, quoted, disk_gb)


def price(offer: Offer, spec: OfferSpec, disk_gb: float) -> Candidate:
    """The total $/h of renting an offer: on-demand as quoted (storage for `disk_gb` at least), or a bid."""
    quoted = opt_float(offer.raw.get("storage_total_cost"))
    fields = (offer.dph_total, offer.dph_base, offer.storage_cost, quoted, offer.min_bid)
    total, bid = quote(fields, spec, disk_gb)
    return Candidate(offer, total, bid)


def reliability_of(d: Mapping[str, Any]) -> float:
    """An API offer's reliability (`reliability2`, else `reliability`)."""
    return float(d.get("reliability2", d.get("reliability")) or 0.0)


def country_of(geolocation: str) -> str:
    """The country code at the end of a `geolocation` ("Texas, US" -> "US")."""
    return geolocation.rsplit(",", 1)[-1].strip().upper()


def opt_float(value: object) -> float | None:
    """A number, or None for a missing or unreadable one."""
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
