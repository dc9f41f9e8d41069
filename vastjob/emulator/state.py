"""The emulator's whole state in one object: its settings, the fault knobs, the offer market, the fleet
of instances and the published log tails. The endpoints (`routes`, `create`, `admin`) take it; the
server owns it and knows nothing the endpoints do."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from vastjob.emulator.afterlife import Afterlife
from vastjob.emulator.faults import Faults
from vastjob.emulator.fleet import Fleet, container_env
from vastjob.emulator.instances import Instance
from vastjob.emulator.overlay import Overlays
from vastjob.emulator.wire import Recorded

Offer = dict[str, Any]


class Market(Mapping[int, Offer]):
    """The offers for rent now, by id: every offer but those a live instance holds and those that vanished.

    Renting and destroying change the fleet, and the market follows from it, so the two cannot drift
    apart; `vanish` is the one change made to the market itself.
    """

    def __init__(self, offers: Iterable[Mapping[str, Any]], fleet: Fleet) -> None:
        self._offers: dict[int, Offer] = {int(o["id"]): dict(o) for o in offers}
        self._fleet = fleet
        self._gone: set[int] = set()  # rented by someone else (the vanish fault): never back

    def _unavailable(self) -> set[int]:
        return self._gone | {inst.offer_id for inst in self._fleet.live()}

    def __getitem__(self, offer_id: int) -> Offer:
        if offer_id in self._unavailable():
            raise KeyError(offer_id)
        return self._offers[offer_id]

    def __iter__(self) -> Iterator[int]:
        unavailable = self._unavailable()
        return iter([i for i in self._offers if i not in unavailable])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def available(self) -> list[Offer]:
        """The offers for rent now, in the market's order (what a search looks through)."""
        unavailable = self._unavailable()
        return [o for i, o in self._offers.items() if i not in unavailable]

    def all_offers(self) -> list[Offer]:
        """Every offer, rented or not (what clusters are made of)."""
        return list(self._offers.values())

    def vanish(self, offer_id: int) -> None:
        """Someone else rented this offer between a search and a create: it leaves the market for good."""
        self._gone.add(offer_id)


class State:
    """Everything the emulator knows and every knob it has; shared by the endpoints under `lock`."""

    def __init__(
        self,
        *,
        offers: Iterable[Mapping[str, Any]],
        sandbox: Path | None = None,
        faults: Faults | None = None,
        api_key: str = "emulator-key",
        log_delay: float = 0.2,
        kill_delay: float = 0.5,
        record_requests: bool = False,
    ) -> None:
        self.api_key = api_key
        self.faults = faults if faults is not None else Faults()
        self.log_delay = log_delay  # how long a logs result_url answers 404 before the text is there
        self.kill_delay = kill_delay  # how long after a container's own stop/destroy its processes die
        self.url = "http://127.0.0.1:0"  # the base URL clients use, set once the server listens
        self.sandbox = Path(sandbox or tempfile.mkdtemp(prefix="vast-emulator-"))
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self.fleet = Fleet(self.sandbox, lambda inst: container_env(inst, self.url))
        self.lock = self.fleet.lock
        self.market = Market(offers, self.fleet)
        self.overlays = Overlays()
        self.afterlife = Afterlife()  # resurrections, script kills, the past-deadline meter
        self.log_results: dict[str, tuple[float, str]] = {}  # token -> (ready at, text)
        self.recording = record_requests
        self.requests: list[Recorded] = []  # every request received, in order, while recording

    def record(self, request: Recorded) -> None:
        """Keep a request as it arrived (when recording: a long-running emulator keeps nothing)."""
        if self.recording:
            with self.lock:
                self.requests.append(request)

    @property
    def instances(self) -> dict[int, Instance]:
        """Every instance created so far by id, destroyed ones included (actual_status "destroyed")."""
        return self.fleet.instances

    def advance(self, instance_id: int, status: str | None) -> None:
        """Put an instance in a status by hand (running starts its onstart, others kill it)."""
        inst = self.fleet.get(instance_id)
        if inst is None:
            raise KeyError(f"no live instance {instance_id}")
        with self.lock:
            if status == "destroyed":
                self.fleet.destroy(inst)
            else:
                self.fleet.set_status(inst, status)

    def billing(self, instance_id: int) -> dict[str, Any]:
        """The meter of one instance: running and GPU seconds, storage seconds, cost so far, and the
        GPU-seconds billed past the deadline its label carries."""
        inst = self.fleet.instances[instance_id]
        self.afterlife.sample(self.fleet)
        return {**self.fleet.billing(inst), **self.afterlife.meter(inst)}
