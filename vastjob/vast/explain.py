"""Why no offer matches: one broad search, then each filter of the spec in turn, counting what it leaves,
and the cheapest offer that only the price cap excluded."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vastjob.errors import UserError
from vastjob.spec.model import JobSpec, OfferSpec
from vastjob.vast.query import Candidate, Offer, build_query, price

BROAD_LIMIT = 1000  # the most one search returns; counts above it are "at least"
Raw = Mapping[str, Any]


class Searcher(Protocol):
    """What the explanation needs of a client: one offer search."""

    def search_offers(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Offers matching a query in the API's units."""


@dataclass(frozen=True)
class FilterStep:
    """One filter of the spec and how many offers were left after it."""

    name: str  # the spec field, e.g. "offer.min_reliability"
    setting: str  # its value as written, e.g. "0.98"
    left: int


@dataclass(frozen=True)
class NoOfferReport:
    """The market for the job's GPUs, narrowed filter by filter; the cheapest offer over the cap, if any."""

    job_name: str
    gpus: str  # "1x RTX 4090"
    market: int  # offers of those GPUs found by the broad search
    capped: bool  # the broad search hit its limit: the counts are lower bounds
    steps: tuple[FilterStep, ...]
    cheapest_over_cap: Candidate | None
    max_price_per_hour: float

    @property
    def removed_by(self) -> str | None:
        """The first filter that left no offer (None when the GPUs themselves are not on the market)."""
        if self.market == 0:
            return None
        return next((s.name for s in self.steps if s.left == 0), None)

    def render(self) -> str:
        """The explanation as text, one line per filter."""
        more = "+" if self.capped else ""
        if self.market == 0:
            return f"no offer matches job {self.job_name}: no rentable {self.gpus} is on the market now"
        lines = [f"no offer matches job {self.job_name}; {self.market}{more} offers of {self.gpus}, then:"]
        width = max(len(f"{s.name} {s.setting}") for s in self.steps) if self.steps else 0
        for s in self.steps:
            lines.append(f"  {f'{s.name} {s.setting}':<{width}}  {s.left}{more if s.left else ''} left")
            if s.left == 0:
                break
        cheap = self.cheapest_over_cap
        if cheap is not None:
            o = cheap.offer
            lines.append(
                f"the cheapest offer the cap excluded: ${cheap.price_per_hour:.3f}/h, storage included "
                f"(offer {o.id}, {o.num_gpus}x {o.gpu_name}, {o.geolocation or '?'}), over "
                f"${self.max_price_per_hour:.2f}/h: raise offer.max_price_per_hour to rent it"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        cheap = self.cheapest_over_cap
        return {
            "job": self.job_name,
            "gpus": self.gpus,
            "market": self.market,
            "at_least": self.capped,
            "filters": [{"filter": s.name, "setting": s.setting, "left": s.left} for s in self.steps],
            "removed_by": self.removed_by,
            "cheapest_over_cap": None
            if cheap is None
            else {**cheap.to_json(), "over_by": round(cheap.price_per_hour - self.max_price_per_hour, 4)},
        }


class NoOfferError(UserError):
    """No offer passed the job's filters; the message (and the JSON) says which filter left none."""

    def __init__(self, report: NoOfferReport) -> None:
        self.report = report
        super().__init__(report.render())

    def to_json(self) -> dict[str, object]:
        """The error, with the explanation under `explanation`."""
        return {**super().to_json(), "explanation": self.report.to_json()}


def broad_query(offer: OfferSpec, disk_gb: float) -> dict[str, Any]:
    """The job's search keeping only the GPU model and count: cheapest first, as many as one search gives."""
    q = build_query(offer, disk_gb, limit=BROAD_LIMIT)
    for key in (
        "gpu_ram",
        "cuda_max_good",
        "reliability",
        "inet_down",
        "hosting_type",
        "geolocation",
        "dph_total",
        "min_bid",
    ):
        q.pop(key, None)
    q["verified"] = {"in": [True, False]}  # said outright: a search that does not say means verified only
    q["order"] = [["min_bid" if offer.interruptible else "dph_total", "asc"]]
    return q


def _filters(offer: OfferSpec) -> list[tuple[str, str, Callable[[Raw], bool]]]:
    """The spec's filters in the order they are explained, each as a test of one raw offer."""
    found: list[tuple[str, str, Callable[[Raw], bool]]] = []
    vram, cuda, reliab, inet = (
        offer.gpu.min_vram_gb,
        offer.min_cuda,
        offer.min_reliability,
        offer.min_inet_down_mbps,
    )
    if vram is not None:
        found.append(("offer.gpu.min_vram_gb", f"{vram:g}", lambda r: _num(r, "gpu_ram") >= vram * 1000))
    if cuda is not None:
        found.append(("offer.min_cuda", cuda, lambda r: _num(r, "cuda_max_good") >= float(cuda)))
    if reliab is not None:
        found.append(("offer.min_reliability", f"{reliab:g}", lambda r: _num(r, "reliability") >= reliab))
    if inet is not None:
        found.append(("offer.min_inet_down_mbps", f"{inet:g}", lambda r: _num(r, "inet_down") >= inet))
    if offer.verified_only:
        found.append(("offer.verified_only", "true", lambda r: r.get("verified") is True))
    if offer.datacenter_only:
        found.append(("offer.datacenter_only", "true", lambda r: r.get("hosting_type") == 1))
    if offer.regions:
        regions = {r.upper() for r in offer.regions}
        found.append(
            ("offer.regions", ", ".join(offer.regions), lambda r: Offer.from_api(r).country in regions)
        )
    return found


def explain_no_offer(job: JobSpec, client: Searcher) -> NoOfferReport:
    """Search the job's GPUs broadly and say which filter left nothing, or what the cap excluded."""
    offer, disk = job.offer, job.instance.disk_gb
    raw = client.search_offers(broad_query(offer, disk))
    left: Sequence[Raw] = raw
    steps: list[FilterStep] = []
    for name, setting, test in _filters(offer):
        left = [r for r in left if test(r)]
        steps.append(FilterStep(name, setting, len(left)))
    priced = sorted((price(Offer.from_api(r), offer, disk) for r in left), key=lambda c: c.price_per_hour)
    within = [c for c in priced if c.price_per_hour <= offer.max_price_per_hour + 1e-9]
    steps.append(FilterStep("offer.max_price_per_hour", f"{offer.max_price_per_hour:g}", len(within)))
    over = [c for c in priced if c.price_per_hour > offer.max_price_per_hour + 1e-9]
    names = " or ".join(offer.gpu.names) or "any GPU"
    return NoOfferReport(
        job.name,
        f"{offer.gpu.count}x {names}",
        len(raw),
        len(raw) >= BROAD_LIMIT,
        tuple(steps),
        over[0] if over else None,
        offer.max_price_per_hour,
    )


def _num(raw: Raw, key: str) -> float:
    try:
        return float(raw.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0
