"""Answering one request: find its route, apply the per-request faults, check the key, call the endpoint
with the emulator's state."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vastjob.emulator import admin, create, overlay, routes
from vastjob.emulator.state import State
from vastjob.emulator.wire import Reply, Request, error

# (method, path pattern, route name for faults, handler, who may call it)
# who: "user" needs a user key (container keys get 403), "container" also lets a container key act on
# its own instance, "open" needs no key (the emulator's own endpoints and published log files).
ROUTES: list[tuple[str, re.Pattern[str], str, routes.Handler, str]] = [
    (m, re.compile(p), name, h, who)
    for m, p, name, h, who in (
        ("POST", r"/api/v0/bundles", "search", routes.search_offers, "user"),
        ("PUT", r"/api/v0/search/asks", "search", routes.search_offers, "user"),
        ("PUT", r"/api/v0/asks/(\d+)", "create", create.create_instance, "user"),
        ("GET", r"/api/v1/instances", "list", routes.list_instances, "user"),
        ("GET", r"/api/v0/instances", "list", routes.list_instances_v0, "user"),
        ("GET", r"/api/v0/instances/(\d+)", "show", routes.show_instance, "user"),
        ("PUT", r"/api/v0/instances/(\d+)", "manage", routes.manage_instance, "container"),
        ("DELETE", r"/api/v0/instances/(\d+)", "destroy", routes.destroy_instance, "container"),
        ("PUT", r"/api/v0/instances/request_logs/(\d+)", "logs", routes.request_logs, "user"),
        ("POST", r"/api/v0/overlay", "overlay", overlay.create_overlay, "user"),
        ("GET", r"/api/v0/overlay", "overlay", overlay.list_overlays, "user"),
        ("DELETE", r"/api/v0/overlay", "overlay", overlay.delete_overlay, "user"),
        ("GET", r"/api/v0/users/current", "user", routes.current_user, "user"),
        ("GET", r"/_emulator/logs/([0-9a-f]+)\.log", "", routes.log_result, "open"),
        ("GET", r"/_emulator/faults", "", admin.get_faults, "open"),
        ("POST", r"/_emulator/faults", "", admin.set_faults, "open"),
        ("GET", r"/_emulator/billing", "", admin.billing, "open"),
        ("POST", r"/_emulator/advance", "", admin.advance, "open"),
        ("POST", r"/_emulator/kill-script", "", admin.kill_script, "open"),
    )
]

RATE_LIMIT_TEXT = "API requests too frequent endpoint threshold=4.5"


def _rate_limited(form: str) -> Reply:
    if form == "text":
        return Reply(429, RATE_LIMIT_TEXT)
    if form == "detail":
        return Reply(429, {"detail": RATE_LIMIT_TEXT})
    return Reply(429, {"success": False, "error": "rate_limit_exceeded", "msg": RATE_LIMIT_TEXT})


def dispatch(state: State, method: str, target: str, headers: Mapping[str, str], body: Any) -> Reply:
    """Answer one request: route, faults, auth, then the endpoint."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    allowed = [r for r in ROUTES if r[1].fullmatch(path)]
    found = [(r, m) for r in allowed if r[0] == method and (m := r[1].fullmatch(path))]
    if not found:
        if allowed:
            return error(405, "method_not_allowed", f"{method} is not allowed on {path}")
        return error(404, "not_found", f"No route for {method} {path}")
    (_, _, name, handler, who), match = found[0]
    state.afterlife.wake(state.fleet)  # a destroy that did not last shows from the next request on
    request = Request(method, path, query, body, match)
    if who != "open":
        fault = _fault(state, name)
        if fault is not None:
            return fault
        denied = _authorize(state, request, headers, who)
        if denied is not None:
            return denied
    return handler(state, request)


def _fault(state: State, route: str) -> Reply | None:
    faults = state.faults
    if not faults.applies(route):
        return None
    if faults.delay > 0:
        time.sleep(faults.delay)
    refusal = faults.next_refusal()
    if refusal is not None:
        return Reply(refusal, {"success": False})
    if faults.take("rate_limit"):
        return _rate_limited(faults.next_rate_limit_body())
    if faults.take("server_errors"):
        return error(faults.server_error_status, "server_error", "Internal server error (emulated)")
    return faults.garbled()


def _authorize(state: State, request: Request, headers: Mapping[str, str], who: str) -> Reply | None:
    auth = headers.get("authorization") or ""
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.query.get("api_key", "")
    if key and key == state.api_key:
        return None
    with state.lock:
        owner = next((i for i in state.fleet.live() if key and i.api_key == key), None)
    if owner is None:
        return error(401, "auth_error", "Invalid user key")
    request.instance_id = owner.id
    if who != "container" or int(request.match.group(1)) != owner.id:
        return error(403, "forbidden", f"This key can only start, stop or destroy instance {owner.id}.")
    return None
