"""The API's endpoints over the emulator's state (but creating an instance, in `create`): each takes the
state and a parsed request and returns a reply."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from vastjob.emulator import conform
from vastjob.emulator.create import LABEL_LIMIT
from vastjob.emulator.faults import next_utc_midnight
from vastjob.emulator.market import generate_offers
from vastjob.emulator.query import (
    SEARCH_OPTIONS,
    QueryError,
    check_filters,
    matches,
    order_rows,
    parse_order,
    priced,
    search,
)
from vastjob.emulator.state import State
from vastjob.emulator.wire import Reply, Request, error, ok

PAGE_SIZE = 25
DEFAULT_LOG_TAIL = 1000
# The fields of an offer as a search answers it: what a search may filter and order on.
OFFER_FIELDS = frozenset(priced(generate_offers(0, 1)[0], 8.0, False))


def search_offers(state: State, req: Request) -> Reply:
    """`POST /api/v0/bundles/` (and `PUT /api/v0/search/asks/`, whose body wraps the query in `q`)."""
    body = req.body if req.body is not None else {}
    if req.method == "PUT" and isinstance(body, dict) and isinstance(body.get("q"), dict):
        body = body["q"]
    if not isinstance(body, dict):
        return error(400, "invalid_request", "Invalid json body")
    if state.faults.search_quota:
        return Reply(
            429,
            {
                "success": False,
                "error": "search_quota_exceeded",
                "msg": "Daily search quota exceeded; it resets at 00:00 UTC.",
            },
            headers={"X-RateLimit-Reset": str(next_utc_midnight())},
        )
    try:
        with state.lock:
            offers = state.market.available()
        fields = OFFER_FIELDS.union(*(o.keys() for o in offers[:1]))
        refused = conform.search_query(body, fields, SEARCH_OPTIONS)
        if refused is not None:
            return refused
        return Reply(200, {"offers": search(offers, body)})
    except QueryError as err:
        return error(400, "invalid_request", str(err))


def _rows(state: State) -> list[dict[str, Any]]:
    faults = state.faults
    return [faults.shown(inst.to_wire()) for inst in state.fleet.live() if faults.listed(inst.start_date)]


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


def list_instances(state: State, req: Request) -> Reply:
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
    every = _rows(state)
    refused = conform.list_columns(filters, order, every[0]) if every else None
    if refused is not None:
        return refused
    rows = order_rows([r for r in every if matches(r, filters)], order)
    start = 0
    if after is not None:
        ids = [r["id"] for r in rows]
        # Keyset paging: resume after the last row sent, even if rows came or went in between.
        later = (i for i, x in enumerate(ids) if x > after)
        start = ids.index(after) + 1 if after in ids else next(later, len(ids))
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    if isinstance(columns, list) and columns and "*" not in columns:
        page = [{c: r.get(c) for c in columns} for r in page]
    labels: dict[str, int] = {}
    for r in rows:
        labels[r.get("label") or ""] = labels.get(r.get("label") or "", 0) + 1
    return ok(
        instances_found=len(page),
        total_instances=len(rows),
        label_counts=labels,
        # endless_list: a token that leads back to this same page, for ever
        next_token=_token(after or 0)
        if state.faults.endless_list
        else (_token(rows[start + limit - 1]["id"]) if more else None),
        instances=page,
    )


def list_instances_v0(state: State, req: Request) -> Reply:
    """`GET /api/v0/instances/`: every live instance at once."""
    return Reply(200, {"instances": _rows(state)})


def show_instance(state: State, req: Request) -> Reply:
    """`GET /api/v0/instances/{id}/`: one instance under the plural key; null once it is gone."""
    inst = state.fleet.get(int(req.match.group(1)))
    return Reply(200, {"instances": state.faults.shown(inst.to_wire()) if inst else None})


def _missing(instance_id: int) -> Reply:
    return error(404, "not_found", f"Instance {instance_id} not found.")


def manage_instance(state: State, req: Request) -> Reply:
    """`PUT /api/v0/instances/{id}/`: `{"state": "stopped"|"running"}` and/or `{"label": ...}`."""
    instance_id = int(req.match.group(1))
    body = req.body if isinstance(req.body, dict) else {}
    wanted, label = body.get("state"), body.get("label")
    if wanted is None and "label" not in body:
        return error(400, "invalid_args", "Invalid args: give state or label")
    if wanted is not None and wanted not in ("running", "stopped"):
        return error(400, "invalid_args", f"Invalid args: state must be running or stopped, not {wanted!r}")
    if "label" in body and (not isinstance(label, str | None) or len(label or "") > LABEL_LIMIT):
        return error(400, "invalid_args", f"Invalid args: label must be at most {LABEL_LIMIT} characters")
    if req.instance_id is not None and "label" in body:
        return error(403, "forbidden", "A container key can only start, stop or destroy its instance.")
    with state.lock:
        inst = state.fleet.get(instance_id)
        if inst is None:
            return _missing(instance_id)
        if "label" in body:
            inst.label = label
        if wanted is not None:
            state.fleet.request(inst, wanted, state.kill_delay if req.instance_id == instance_id else 0.0)
    return ok()


def destroy_instance(state: State, req: Request) -> Reply:
    """`DELETE /api/v0/instances/{id}/`: end it and all its charges; the machine returns to the market."""
    instance_id = int(req.match.group(1))
    with state.lock:
        inst = state.fleet.get(instance_id)
        if inst is None:
            return _missing(instance_id)
        previous = inst.actual_status
        state.fleet.destroy(inst, state.kill_delay if req.instance_id == instance_id else 0.0)
        if state.faults.take("resurrect"):
            state.afterlife.bury(inst, previous, state.faults.resurrect_after)
    return ok(msg=f"Instance {instance_id} destroyed.")


def request_logs(state: State, req: Request) -> Reply:
    """`PUT /api/v0/instances/request_logs/{id}/`: the tail is published at a result_url a moment later."""
    instance_id = int(req.match.group(1))
    inst = state.fleet.get(instance_id)
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
    with state.lock:
        state.log_results[token] = (time.monotonic() + state.log_delay, text)
    return ok(msg="Logs are being prepared.", result_url=f"{state.url}/_emulator/logs/{token}.log")


def current_user(state: State, req: Request) -> Reply:
    """`GET /api/v0/users/current`: the account (its key left out)."""
    return conform.current_user(state.api_key)


def log_result(state: State, req: Request) -> Reply:
    """The result_url of a logs request: 404 while the upload is pending, as the real bucket answers.

    It is pending for `log_delay` seconds but answers 404 at most once, so a client that polls without
    really sleeping (a test's injected sleep) still sees the 404 and then the text.
    """
    token = req.match.group(1)
    missing = Reply(404, "<Error><Code>NoSuchKey</Code></Error>", headers={"Content-Type": "application/xml"})
    with state.lock:
        if token not in state.log_results:
            return missing
        ready_at, text = state.log_results[token]
        if time.monotonic() < ready_at:
            state.log_results[token] = (0.0, text)
            return missing
    return Reply(200, text)


Handler = Callable[[State, Request], Reply]
