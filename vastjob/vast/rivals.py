"""Two applies of one spec at the same moment (two terminals, a CI retry): which instance is kept.

Each apply looks once the list shows its own new instance; the lower id wins, so exactly one of them
destroys its own. The winner is adopted only when it is alive with its price read within the cap, and
only while it is still there, so "up to date" never names an instance that its own apply destroyed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from vastjob.errors import ApiError
from vastjob.vast.checks import price_problem
from vastjob.vast.client import VastClient
from vastjob.vast.instance import Instance, show


def first(
    client: VastClient,
    listed: Sequence[Instance],
    known: Collection[int],
    own: int | None,
    cap: float,
) -> Instance | None:
    """Another apply's instance of the spec, older than `own` (any, when None), alive and within the cap."""
    others = sorted((i for i in listed if i.id not in known and i.id != own and i.alive), key=lambda i: i.id)
    for other in others:
        if own is not None and other.id > own:
            return None
        checked = show(client, other.id)
        if checked is not None and checked.alive and price_problem(checked, cap) is None:
            return checked
    return None


def still_there(client: VastClient, rival: Instance) -> str | None:
    """The state of the instance being adopted, looked at again; an error when it went meanwhile."""
    again = show(client, rival.id)
    if again is None or not again.alive:
        state = again.state if again else "gone"
        raise ApiError(
            f"instance {rival.id}, which another apply of this spec created, is {state} since: no "
            "instance of this spec runs now; apply again",
            error="rival_gone",
        )
    return again.actual_status
