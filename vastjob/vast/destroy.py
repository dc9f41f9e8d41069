"""Destroy, verified: after the DELETE, read the instance back until it is gone, look again a moment later
(instances have come back after one DELETE), destroy again what is still or again there, and name the
instances that would not go: never a success that is not one.

Every destroy vastjob makes goes through here: `destroy`, `reap`, and apply's cleanups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vastjob.errors import ApiError
from vastjob.vast.client import VastClient


@dataclass(frozen=True)
class Patience:
    """How hard a destroy tries: rounds of DELETE, looks per round, the pause between looks."""

    rounds: int = 3
    looks: int = 4
    poll_s: float = 2.0
    confirm_looks: int = 1  # looks, a pause apart, that must still find it gone after it first is


DEFAULT = Patience()


class NotGone(ApiError):
    """Instances still there after every round of DELETE: they still bill."""

    def __init__(self, message: str, ids: Sequence[int], *, error: str = "not_gone") -> None:
        super().__init__(message, error=error)
        self.ids = list(ids)

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "ids": self.ids}


@dataclass
class Outcome:
    """What a verified destroy achieved: the ids gone for good, those still there after every round, those
    whose DELETE the API refused (with its error; not sent again), and how many DELETEs were answered."""

    gone: list[int]
    left: list[int]
    deletes: int
    errors: dict[int, ApiError] = field(default_factory=dict)

    def raise_if_left(self, what: str = "") -> None:
        """The API's error when a DELETE was refused, else NotGone naming every instance that would not go
        (both exit 3)."""
        if self.errors:
            raise next(iter(self.errors.values()))
        if self.left:
            ids = ", ".join(map(str, self.left))
            raise NotGone(
                f"instance {ids} would not go{what}: still there after repeated destroys, and still "
                f"billed; run the command again, or destroy it in Vast's console",
                self.left,
            )


def destroy_all(
    client: VastClient,
    ids: Sequence[int],
    *,
    patience: Patience = DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Destroy each instance and verify that it is gone and stays gone; the ones left are reported, not
    raised (the caller decides), so one stubborn instance never stops the others being destroyed."""
    pending = list(dict.fromkeys(ids))
    outcome = Outcome([], [], 0)
    for _ in range(max(patience.rounds, 1)):
        if not pending:
            break
        for instance_id in list(pending):
            try:
                client.destroy_instance(instance_id)
                outcome.deletes += 1
            except ApiError as err:
                # The client has retried already: what the API refuses is reported, not sent again.
                outcome.errors[instance_id] = err
                pending.remove(instance_id)
        seen_gone = _until_gone(client, pending, patience, sleep)
        confirmed = _still_gone(client, seen_gone, patience, sleep)
        outcome.gone += confirmed
        pending = [i for i in pending if i not in confirmed]
    outcome.left = pending
    return outcome


def destroy_verified(
    client: VastClient,
    instance_id: int,
    *,
    patience: Patience = DEFAULT,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Destroy one instance for good; NotGone (exit 3) when it would not go."""
    destroy_all(client, [instance_id], patience=patience, sleep=sleep).raise_if_left()


def _until_gone(
    client: VastClient, ids: Sequence[int], patience: Patience, sleep: Callable[[float], None]
) -> list[int]:
    """The ids that read as gone within this round's looks."""
    waiting, gone = list(ids), []
    for look in range(max(patience.looks, 1)):
        if look:
            sleep(patience.poll_s)
        waiting_next = []
        for instance_id in waiting:
            if _gone(client, instance_id):
                gone.append(instance_id)
            else:
                waiting_next.append(instance_id)
        waiting = waiting_next
        if not waiting:
            break
    return gone


def _still_gone(
    client: VastClient, ids: Sequence[int], patience: Patience, sleep: Callable[[float], None]
) -> list[int]:
    """The ids still gone after the confirming looks: one that came back is destroyed again next round."""
    kept = list(ids)
    for _ in range(patience.confirm_looks):
        if not kept:
            break
        sleep(patience.poll_s)
        kept = [i for i in kept if _gone(client, i)]
    return kept


def _gone(client: VastClient, instance_id: int) -> bool:
    try:
        return client.show_instance(instance_id) is None
    except ApiError:
        return False  # an unreadable answer is not "gone": where money is decided, not safe
