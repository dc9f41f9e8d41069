"""Creating an instance (`PUT /api/v0/asks/{id}/`): the one place the create request's body is read
and checked, and where an offer is rented."""

from __future__ import annotations

from typing import Any

from vastjob.emulator import conform, overlay
from vastjob.emulator.faults import garbled_reply
from vastjob.emulator.limits import check_limits
from vastjob.emulator.state import State
from vastjob.emulator.wire import Reply, Request, error

LABEL_LIMIT = 1024  # a relabel (manage) allows this; a create, LABEL_MAX of vastjob.vast.limits


def create_instance(state: State, req: Request) -> Reply:
    """`PUT /api/v0/asks/{id}/`: rent an offer; it leaves the market."""
    ask_id = int(req.match.group(1))
    body = req.body
    if not isinstance(body, dict):
        return error(400, "invalid_args", "Invalid args: expected a JSON object", ask_id=ask_id)
    with state.lock:
        if ask_id in state.market and state.faults.take("vanish"):
            state.market.vanish(ask_id)  # someone else rented it between the search and this create
        offer = state.market.get(ask_id)
        if offer is None:
            if body.get("cancel_unavail"):
                return error(
                    410,
                    "no_such_ask",
                    f"error 410/3907: no_such_ask Instance type {ask_id} is no longer available.",
                    ask_id=ask_id,
                )
            return error(
                404,
                "no_such_ask",
                f"error 404/3603: no_such_ask Instance type by id {ask_id} is not available.",
                ask_id=ask_id,
            )
        problem = check_body(body, offer) or overlay.check_join(state, body, offer)
        if problem is not None:
            return problem
        fail = state.faults.fail_status if state.faults.take("fail_instances") else None
        inst = state.fleet.create(offer, body, fail)
        overlay.join(state, inst)
        if state.faults.take("fail_msg"):
            inst.fault_msg = state.faults.fail_msg_text
        if state.faults.take("kill_script"):
            state.afterlife.doom(inst.id, state.faults.kill_script_after)
        if body.get("target_state") == "stopped":
            state.fleet.request(inst, "stopped")  # created, but not started
        elif inst.bid is not None and state.faults.take("bid_stopped"):
            state.fleet.set_status(inst, "stopped")  # outbid at once: it waits, stopped, for its GPU
    return _created(state, inst.id, inst.api_key)


def _created(state: State, instance_id: int, api_key: str) -> Reply:
    """The answer to a create that made an instance, as the faults deliver it."""
    answer = {"success": True, "new_contract": instance_id, "instance_api_key": api_key}
    faults = state.faults
    if faults.take("lose_create"):
        return Reply(200, drop=True)
    if faults.take("create_garbage"):
        return garbled_reply("truncated", answer)
    if faults.take("error_after_create"):
        return error(faults.server_error_status, "server_error", "Gateway timeout (emulated)")
    if faults.take("contract_error"):
        return error(
            400,
            "invalid_price",
            "Invalid price: the bid is below the current minimum",
            new_contract=instance_id,
        )
    return Reply(200, answer)


def check_body(body: dict[str, Any], offer: dict[str, Any]) -> Reply | None:
    """The 400 answer the service gives a create body it refuses, or None when the body is accepted."""
    ask_id = offer.get("id")
    refused = conform.create_body(body, int(offer["id"]))
    if refused is not None:
        return refused
    if not isinstance(body.get("image"), str) and not body.get("template_hash_id"):
        return error(400, "invalid_args", "Invalid args: 'image' is required", ask_id=ask_id)
    env = body.get("env")
    if env is not None and not isinstance(env, dict):
        return error(400, "invalid_args", "Invalid args: env must be a JSON object", ask_id=ask_id)
    if (limited := check_limits(body, ask_id)) is not None:  # Vast's documented limits on the body
        return limited
    disk = body.get("disk", 10)  # a number of at least 8 GB: check_limits has seen to it
    if disk > float(offer.get("disk_space") or 0):
        return error(
            400,
            "invalid_args",
            f"Invalid args: disk {disk} GB is more than the offer's {offer.get('disk_space')} GB",
            ask_id=ask_id,
        )
    price = body.get("price")
    if price is not None and price < float(offer.get("min_bid") or 0):  # in Vast's range: check_limits
        return error(
            400,
            "invalid_price",
            f"Invalid price: the bid {price} is under the minimum bid {offer.get('min_bid')}",
            ask_id=ask_id,
        )
    return None
