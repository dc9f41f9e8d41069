"""What apply confirms about an instance before it keeps it: a price within the cap (an unreadable price
counts as over it), recorded in the label so a later apply can trust it; and that a bid did not come up
stopped (outbid at once, it would bill its disk and never run).
"""

from __future__ import annotations

from collections.abc import Callable

from vastjob.errors import ApiError
from vastjob.vast import labels
from vastjob.vast.client import VastClient
from vastjob.vast.instance import Instance, show
from vastjob.vast.proof import destroy_sure

EPSILON = 1e-6  # prices are floats: a hair over the cap is still the cap


class PriceCapError(ApiError):
    """An instance came back priced over the job's cap, or with no price to read (it has been destroyed)."""


def price_problem(inst: Instance | None, cap: float) -> str | None:
    """Why an instance may not be kept at this cap; None when its price is read and within it."""
    if inst is None:
        return "is gone (destroyed since it was created)"
    if inst.dph_total is None:
        return "came back without a readable price (no dph_total): an unknown price counts as over the cap"
    if inst.dph_total > cap + EPSILON:
        return f"came back at ${inst.dph_total:.4f}/h, over the cap of ${cap:.2f}/h"
    return None


def confirm_price(client: VastClient, instance_id: int, cap: float, left: list[int]) -> Instance:
    """The instance, read back within the cap; otherwise it is destroyed (for sure, and taken out of
    `left`, the instances an apply leaves) and PriceCapError says why."""
    inst = show(client, instance_id)
    problem = price_problem(inst, cap)
    if problem is None and inst is not None:
        return inst
    destroy_sure(client, instance_id)  # even one shown as gone: a show that says null may be wrong
    if instance_id in left:
        left.remove(instance_id)
    raise PriceCapError(f"instance {instance_id} {problem}: destroyed it", error="price_over_cap")


def is_priced(inst: Instance) -> bool:
    """Whether the label says this instance's price was confirmed within the cap of its spec."""
    parsed = labels.parse_label(inst.label)
    return parsed is not None and parsed.priced


def mark_priced(client: VastClient, inst: Instance, say: Callable[[str], None]) -> bool:
    """Record in the label that the instance's price is confirmed; a failure is said, not raised (the next
    apply checks the price again). Whether the label now says so."""
    parsed = labels.parse_label(inst.label)
    if parsed is None or parsed.priced:
        return parsed is not None
    label = str(labels.Label(parsed.name, parsed.spec_hash, parsed.nonce, True, parsed.extra))
    try:
        client.relabel(inst.id, label)
    except ApiError as err:
        say(f"instance {inst.id}: its price is confirmed but could not be recorded in its label ({err})")
        return False
    return True


def confirmed(
    client: VastClient, inst: Instance, job_name: str, cap: float, say: Callable[[str], None]
) -> Instance:
    """An instance of the spec that an earlier apply left, its price confirmed (checked now if never, as
    a new one is: unknown or over the cap, it is destroyed)."""
    if is_priced(inst):
        return inst
    say(f"instance {inst.id} of this spec never had its price confirmed: checking it now")
    try:
        checked = confirm_price(client, inst.id, cap, [])
    except PriceCapError:
        raise
    except ApiError as err:
        raise type(err)(
            f"{err}\ninstance {inst.id} of this spec is still there, billed, its price not confirmed: "
            f"`vastjob status {job_name}` shows it, `vastjob destroy {job_name}` removes it",
            status=err.status,
            error=err.error,
            msg=err.msg,
        ) from None
    mark_priced(client, checked, say)
    return checked


def bid_left_stopped(inst: Instance, bid: float | None) -> bool:
    """Whether an interruptible instance came up stopped: a failed create (outbid at once)."""
    return bid is not None and inst.actual_status == "stopped"
