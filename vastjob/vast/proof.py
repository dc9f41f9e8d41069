"""What a listing proves about an apply's own instances, and destroys that are checked, not assumed.

A create carries the apply's nonce in its label, so a later listing can show whether a create whose
answer was lost (or unreadable) made an instance. The list may lag behind creates: an instance missing
from it is only taken as never made once the list has been read `settle_s` after the create, and an
instance that must be seen (before looking for a concurrent apply's) is waited for as long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vastjob.errors import ApiError
from vastjob.vast import labels
from vastjob.vast.client import VastClient
from vastjob.vast.destroy import Patience, destroy_verified
from vastjob.vast.instance import Instance

SETTLE_LOOKS = 6  # looks spread over settle_s, the first at once, each later one twice as far


def of_spec(client: VastClient, spec: str) -> list[Instance]:
    """The account's instances of one spec (`vastjob:<name>:<hash>`, whatever their tags), oldest first."""
    name = labels.parse_label(spec)
    found = labels.of_job(client.list_instances(), name.name if name else None)
    return [Instance.from_api(i) for i in found if labels.spec_of(i.get("label")) == spec]


def nonce_of(inst: Instance) -> str | None:
    """The nonce of the apply that created an instance, from its label."""
    parsed = labels.parse_label(inst.label)
    return None if parsed is None else parsed.nonce


@dataclass
class Looker:
    """Looks at the list for an apply's own instances, patiently enough for a list that lags."""

    client: VastClient
    spec: str
    nonce: str
    settle_s: float
    sleep: Callable[[float], None]
    say: Callable[[str], None]

    def mine(self) -> list[Instance]:
        """This apply's instances in one listing (those whose label carries its nonce)."""
        return [i for i in of_spec(self.client, self.spec) if nonce_of(i) == self.nonce]

    def until(self, found: Callable[[list[Instance]], bool], why: str) -> list[Instance] | None:
        """The spec's instances from the first listing where `found` holds, within settle_s; else None.

        A listing that fails (an error, an answer not in the documented shape) proves nothing: it counts
        as a look, and the looks go on.
        """
        waits = _waits(self.settle_s)
        last: ApiError | None = None
        for k, wait in enumerate(waits, start=1):
            try:
                listed = of_spec(self.client, self.spec)
            except ApiError as err:
                last = err
            else:
                last = None
                if found(listed):
                    return listed
            if k < len(waits):
                problem = f"the list failed ({last})" if last else "the list does not show it yet"
                self.say(f"{why}: {problem}; look {k + 1} of {len(waits)} in {wait:.1f} s")
                self.sleep(wait)
        return None


def _waits(settle_s: float) -> list[float]:
    """SETTLE_LOOKS waits that double and add up to settle_s (the last entry is never slept)."""
    unit = settle_s / (2 ** (SETTLE_LOOKS - 1) - 1) if settle_s > 0 else 0.0
    return [unit * 2**k for k in range(SETTLE_LOOKS - 1)] + [0.0]


def destroy_sure(
    client: VastClient,
    instance_id: int,
    *,
    tries: int = 3,
    patience: Patience | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Destroy an instance and look until it is gone and stays gone (instances have come back after one
    DELETE): `vastjob.vast.destroy`, in `tries` rounds, pausing as the client backs off unless told."""

    def pause(_seconds: float) -> None:
        client.backoff(0)

    destroy_verified(client, instance_id, patience=patience or Patience(rounds=tries), sleep=sleep or pause)
