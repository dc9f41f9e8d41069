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
from vastjob.vast.proof import Looker


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


def listed_with(looker: Looker, instance_id: int, settle_s: float) -> list[Instance]:
    """The spec's instances, from a listing that shows this apply's own new one (a list that lags then
    shows another apply's made before it too); ApiError when none does within `settle_s`."""
    listed = looker.until(
        lambda found: any(i.id == instance_id for i in found), f"instance {instance_id} was created"
    )
    if listed is None:
        raise ApiError(
            f"the list does not show instance {instance_id} within {settle_s:g} s of its create, so "
            "another apply of this spec cannot be ruled out",
            error="list_lags",
        )
    return listed
