"""The API's endpoints over the emulator's state: each takes a parsed request and returns a reply."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vastjob.emulator.faults import next_utc_midnight
from vastjob.emulator.query import QueryError, check_filters, matches, order_rows, parse_order, search
from vastjob.emulator.wire import Reply, Request, error, ok

if TYPE_CHECKING:
    from vastjob.emulator.server import Emulator

ONSTART_LIMIT = 4048
LABEL_LIMIT = 1024
PAGE_SIZE = 25
DEFAULT_LOG_TAIL = 1000


def search_offers(emu: Emulator, req: Request) -> Reply:
    """`POST /api/v0/bundles/` (and `PUT /api/v0/search/asks/`, whose body wraps the query in `q`)."""
    body = req.body if req.body is not None else {}
    if req.method == "PUT" and isinstance(body, dict) and isinstance(body.get("q"), dict):
        body = body["q"]
    if not isinstance(body, dict):
        return error(400, "invalid_request", "Invalid json body")
    if emu.faults.search_quota:
        return Reply(429, {"success": False, "error": "search_quota_exceeded",
                           "msg": "Daily search quota exceeded; it resets at 00:00 UTC."},
                     headers={"X-RateLimit-Reset": str(next_utc_midnight())})
    try:
        with emu.lock:
            offers = list(emu.market.values())
        return Reply(200, {"offers": search(offers, body)})
    except QueryError as err:
        return error(400, "invalid_request", str(err))


def _check_create(body: dict[str, Any], offer: dict[str, Any]) -> Reply | None:
    ask_id = offer.get("id")
    if not isinstance(body.get("image"), str) and not body.get("template_hash_id"):
        return error(400, "invalid_args", "Invalid args: 'image' is required", ask_id=ask_id)
    env = body.get("env")
    if env is not None and not isinstance(env, dict):
        return error(400, "invalid_args", "Invalid args: env must be a JSON object", ask_id=ask_id)
    onstart = body.get("onstart")
    if onstart is not None and not isinstance(onstart, str):
        return error(400, "invalid_args", "Invalid args: onstart must be a string", ask_id=ask_id)
    if isinstance(onstart, str) and len(onstart) > ONSTART_LIMIT:
        return error(400, "invalid_args", f"Invalid args: onstart is {len(onstart)} characters; "
                     f"the limit is {ONSTART_LIMIT}", ask_id=ask_id)
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > LABEL_LIMIT):
        return error(400, "invalid_args", f"Invalid args: label must be a string of at most {LABEL_LIMIT} "
                     "characters", ask_id=ask_id)
    disk = body.get("disk", 10)
    if isinstance(disk, bool) or not isinstance(disk, int | float) or disk <= 0:
        return error(400, "invalid_args", "Invalid args: disk must be a positive number of GB", ask_id=ask_id)
    if disk > float(offer.get("disk_space") or 0):
        return error(400, "invalid_args", f"Invalid args: disk {disk} GB is more than the offer's "
                     f"{offer.get('disk_space')} GB", ask_id=ask_id)
    price = body.get("price")
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, int | float) or not 0.001 <= price <= 128:
            return error(400, "invalid_price", "Invalid price: a bid must be between 0.001 and 128 $/h",
                         ask_id=ask_id)
        if price < float(offer.get("min_bid") or 0):
            return error(400, "invalid_price", f"Invalid price: the bid {price} is under the minimum bid "
                         f"{offer.get('min_bid')}", ask_id=ask_id)
    return None


def create_instance(emu: Emulator, req: Request) -> Reply:
    """`PUT /api/v0/asks/{id}/`: rent an offer; it leaves the market."""
    ask_id = int(req.match.group(1))
    body = req.body
    if not isinstance(body, dict):
        return error(400, "invalid_args", "Invalid args: expected a JSON object", ask_id=ask_id)
    with emu.lock:
        if ask_id in emu.market and emu.faults.take("vanish"):
            emu.market.pop(ask_id)  # someone else rented it between the search and this create
        offer = emu.market.get(ask_id)
        if offer is None:
            if body.get("cancel_unavail"):
                return error(410, "no_such_ask", f"error 410/3907: no_such_ask Instance type {ask_id} is no "
                             "longer available.", ask_id=ask_id)
            return error(404, "no_such_ask", f"error 404/3603: no_such_ask Instance type by id {ask_id} "
                         "is not available.", ask_id=ask_id)
        problem = _check_create(body, offer)
        if problem is not None:
            return problem
        fail = emu.faults.fail_status if emu.faults.take("fail_instances") else None
        inst = emu.fleet.create(offer, body, fail)
        if emu.faults.take("fail_msg"):
            inst.fault_msg = emu.faults.fail_msg_text
        if emu.faults.take("kill_script"):
            emu.afterlife.doom(inst.id, emu.faults.kill_script_after)
        emu.market.pop(ask_id)
    if emu.faults.take("lose_create"):
        return Reply(200, drop=True)
    return ok(new_contract=inst.id, instance_api_key=inst.api_key)


def _rows(emu: Emulator) -> list[dict[str, Any]]:
    return [inst.to_wire() for inst in emu.fleet.live()]


def _json_param(req: Request, name: str, default: Any) -> Any:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise QueryError(f"{name} is not valid JSON") from None


def _token(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"values": {"id": last_id}}).encode()).decode()


def _after(token: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))["values"]["id"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise QueryError("invalid after_token") from None
    if not isinstance(value, int):
        raise QueryError("invalid after_token")
    return value


def list_instances(emu: Emulator, req: Request) -> Reply:
    """`GET /api/v1/instances/`: filtered, ordered, 25 a page, keyed by `next_token`."""
    try:
        filters = check_filters(_json_param(req, "select_filters", {}))
        order = parse_order(_json_param(req, "order_by", [{"col": "id", "dir": "asc"}]))
        columns = _json_param(req, "select_cols", ["*"])
        limit = int(req.query.get("limit") or PAGE_SIZE)
        after = _after(req.query["after_token"]) if req.query.get("after_token") else None
    except (QueryError, ValueError, AttributeError) as err:
        return error(400, "invalid_request", str(err))
    limit = 5 if limit <= 0 else min(limit, PAGE_SIZE)
    rows = order_rows([r for r in _rows(emu) if matches(r, filters)], order)
    start = 0
    if after is not None:
        ids = [r["id"] for r in rows]
        # Keyset paging: resume after the last row sent, even if rows came or went in between.
        later = (i for i, x in enumerate(ids) if x > after)
        start = ids.index(after) + 1 if after in ids else next(later, len(ids))
    page = rows[start:start + limit]
    more = start + limit < len(rows)
    if isinstance(columns, list) and columns and "*" not in columns:
        page = [{c: r.get(c) for c in columns} for r in page]
    labels: dict[str, int] = {}
    for r in rows:
        labels[r.get("label") or ""] = labels.get(r.get("label") or "", 0) + 1
    return ok(instances_found=len(page), total_instances=len(rows), label_counts=labels,
              next_token=_token(rows[start + limit - 1]["id"]) if more else None, instances=page)


def list_instances_v0(emu: Emulator, req: Request) -> Reply:
    """`GET /api/v0/instances/`: every live instance at once."""
    return Reply(200, {"instances": _rows(emu)})


def show_instance(emu: Emulator, req: Request) -> Reply:
    """`GET /api/v0/instances/{id}/`: one instance under the plural key; null once it is gone."""
    inst = emu.fleet.get(int(req.match.group(1)))
    return Reply(200, {"instances": inst.to_wire() if inst else None})


def _missing(instance_id: int) -> Reply:
    return error(404, "no_such_instance", f"Instance {instance_id} not found.")


def manage_instance(emu: Emulator, req: Request) -> Reply:
    """`PUT /api/v0/instances/{id}/`: `{"state": "stopped"|"running"}` and/or `{"label": ...}`."""
    instance_id = int(req.match.group(1))
    body = req.body if isinstance(req.body, dict) else {}
    state, label = body.get("state"), body.get("label")
    if state is None and "label" not in body:
        return error(400, "invalid_args", "Invalid args: give state or label")
    if state is not None and state not in ("running", "stopped"):
        return error(400, "invalid_args", f"Invalid args: state must be running or stopped, not {state!r}")
    if "label" in body and (not isinstance(label, str | None) or len(label or "") > LABEL_LIMIT):
        return error(400, "invalid_args", f"Invalid args: label must be at most {LABEL_LIMIT} characters")
    if req.instance_id is not None and "label" in body:
        return error(403, "forbidden", "A container key can only start, stop or destroy its instance.")
    with emu.lock:
        inst = emu.fleet.get(instance_id)
        if inst is None:
            return _missing(instance_id)
        if "label" in body:
            inst.label = label
        if state is not None:
            emu.fleet.request(inst, state, emu.kill_delay if req.instance_id == instance_id else 0.0)
    return ok()


def destroy_instance(emu: Emulator, req: Request) -> Reply:
    """`DELETE /api/v0/instances/{id}/`: end it and all its charges; the machine returns to the market."""
    instance_id = int(req.match.group(1))
    with emu.lock:
        inst = emu.fleet.get(instance_id)
        if inst is None:
            return _missing(instance_id)
        previous = inst.actual_status
        emu.fleet.destroy(inst, emu.kill_delay if req.instance_id == instance_id else 0.0)
        emu.market[int(inst.offer["id"])] = inst.offer
        if emu.faults.take("resurrect"):
            emu.afterlife.bury(inst, previous, emu.faults.resurrect_after)
    return ok(msg=f"Instance {instance_id} destroyed.")


def request_logs(emu: Emulator, req: Request) -> Reply:
    """`PUT /api/v0/instances/request_logs/{id}/`: the tail is published at a result_url a moment later."""
    instance_id = int(req.match.group(1))
    inst = emu.fleet.get(instance_id)
    if inst is None:
        return _missing(instance_id)
    body = req.body if isinstance(req.body, dict) else {}
    try:
        tail = int(body.get("tail") or DEFAULT_LOG_TAIL)
    except (TypeError, ValueError):
        return error(400, "invalid_args", "Invalid args: tail must be a number of lines")
    text = inst.container.tail(tail)
    if body.get("filter"):
        text = "".join(line for line in text.splitlines(keepends=True) if str(body["filter"]) in line)
    token = secrets.token_hex(16)
    with emu.lock:
        emu.log_results[token] = (time.monotonic() + emu.log_delay, text)
    return ok(msg="Logs are being prepared.", result_url=f"{emu.url}/_emulator/logs/{token}.log")


def log_result(emu: Emulator, req: Request) -> Reply:
    """The result_url of a logs request: 404 while the upload is pending, as the real bucket answers.

    It is pending for `log_delay` seconds but answers 404 at most once, so a client that polls without
    really sleeping (a test's injected sleep) still sees the 404 and then the text.
    """
    token = req.match.group(1)
    missing = Reply(404, "<Error><Code>NoSuchKey</Code></Error>", headers={"Content-Type": "application/xml"})
    with emu.lock:
        if token not in emu.log_results:
            return missing
        ready_at, text = emu.log_results[token]
        if time.monotonic() < ready_at:
            emu.log_results[token] = (0.0, text)
            return missing
    return Reply(200, text)


Handler = Callable[["Emulator", Request], Reply]
