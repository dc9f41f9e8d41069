"""Fault knobs: the ways the real service misbehaves, switched on at start or through `/_emulator/faults`."""

from __future__ import annotations

import calendar
import copy
import dataclasses
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vastjob.emulator.wire import Reply

ROUTES = ("search", "create", "list", "show", "manage", "destroy", "logs")
RATE_LIMIT_BODIES = ("text", "detail", "error")
FAIL_STATUSES = ("exited", "offline", "unknown")
FAIL_MSG = (
    "Error response from daemon: failed to create task for container: OCI runtime create failed: "
    "unable to start container process: error during container init"
)
# Answers that are not the documented JSON: a login redirect, a maintenance page, plain text, a body cut
# short, an empty body, and JSON without the fields the endpoint documents.
GARBLE_FORMS = ("redirect", "html", "text", "truncated", "empty", "missing")
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Vast.ai</title></head><body>Down for maintenance</body></html>"
)


@dataclass
class Faults:
    """What to break. Counters count down as faults fire; `route` limits the per-request faults."""

    rate_limit: int = 0  # the next N requests answer 429
    rate_limit_body: str = "cycle"  # text | detail | error | cycle (rotates through the three real forms)
    search_quota: bool = False  # every search answers 429 search_quota_exceeded with X-RateLimit-Reset
    server_errors: int = 0  # the next N requests answer server_error_status
    server_error_status: int = 500
    vanish: int = 0  # the next N creates find their offer gone (404, or 410 with cancel_unavail)
    lose_create: int = 0  # the next N creates succeed but the connection closes without an answer
    fail_instances: int = 0  # the next N instances reach fail_status instead of running
    fail_status: str = "exited"  # exited | offline | unknown
    delay: float = 0.0  # seconds added before each answer
    resurrect: int = 0  # the next N destroys answer success; the instance is back resurrect_after s later
    resurrect_after: float = 0.0
    kill_script: int = 0  # the next N instances' onstart is SIGKILLed kill_script_after s into each start
    kill_script_after: float = 0.0  # (the container keeps running, and billing)
    fail_msg: int = 0  # the next N instances stop at loading with status_msg fail_msg_text, for ever
    fail_msg_text: str = FAIL_MSG
    garble: int = 0  # the next N requests answer garble_body instead of reaching the API
    garble_body: str = "html"  # redirect | html | text | truncated | empty | missing | cycle
    create_garbage: int = 0  # the next N creates make their instance, then answer a body cut short
    contract_error: int = 0  # the next N creates make their instance, then answer 400 naming it
    error_after_create: int = 0  # the next N creates make their instance, then answer server_error_status
    bid_stopped: int = 0  # the next N bids make an instance that stays stopped (outbid at once)
    unpriced: bool = False  # show and list answers leave out dph_total
    list_lag: float = 0.0  # seconds a new instance stays out of lists (show sees it at once)
    endless_list: bool = False  # every list page says there is another (its next_token never ends)
    refusals: list[int] = field(default_factory=list)  # the next requests answer these statuses, one
    # each, with the body {"success": false} (a 200 can say no too)
    route: str = ""  # comma-separated routes (search, create, list, show, manage, destroy, logs); empty = all
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _rotation: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError for a value outside what the knobs understand."""
        if self.rate_limit_body not in (*RATE_LIMIT_BODIES, "cycle"):
            body = self.rate_limit_body
            raise ValueError(f"rate_limit_body must be text, detail, error or cycle, not {body!r}")
        if self.garble_body not in (*GARBLE_FORMS, "cycle"):
            forms = ", ".join(GARBLE_FORMS)
            raise ValueError(f"garble_body must be {forms} or cycle, not {self.garble_body!r}")
        if self.fail_status not in FAIL_STATUSES:
            raise ValueError(f"fail_status must be exited, offline or unknown, not {self.fail_status!r}")
        if not 500 <= self.server_error_status <= 599:
            raise ValueError(f"server_error_status must be 5xx, got {self.server_error_status}")
        unknown = [r for r in self.routes() if r not in ROUTES]
        if unknown:
            raise ValueError(f"unknown route {unknown[0]!r}; routes are {', '.join(ROUTES)}")
        counters = (
            "rate_limit",
            "server_errors",
            "vanish",
            "lose_create",
            "fail_instances",
            "delay",
            "garble",
            "create_garbage",
            "contract_error",
            "error_after_create",
            "bid_stopped",
            "list_lag",
            "resurrect",
            "resurrect_after",
            "kill_script",
            "kill_script_after",
            "fail_msg",
        )
        for name in counters:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not all(isinstance(s, int) and 200 <= s <= 599 for s in self.refusals):
            raise ValueError(f"refusals must be HTTP statuses from 200 to 599, got {self.refusals!r}")

    def routes(self) -> list[str]:
        """The routes the per-request faults apply to (empty: every route)."""
        return [r.strip() for r in self.route.split(",") if r.strip()]

    def applies(self, route: str) -> bool:
        """Whether per-request faults (429, 5xx, delay) apply to this route."""
        routes = self.routes()
        return not routes or route in routes

    def update(self, values: Mapping[str, Any]) -> None:
        """Set knobs from a mapping (JSON or parsed CLI text), type-checked against the defaults."""
        known = {f.name: f for f in dataclasses.fields(self) if not f.name.startswith("_")}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(known)}")
            changes[name] = _convert(name, type(getattr(Faults(), name)), value)
        with self._lock:
            before = {n: getattr(self, n) for n in changes}
            for name, value in changes.items():
                setattr(self, name, value)
            try:
                self.validate()
            except ValueError:
                for name, value in before.items():
                    setattr(self, name, value)
                raise

    def as_dict(self) -> dict[str, Any]:
        """The knobs as JSON-ready values."""
        known = (f.name for f in dataclasses.fields(self) if not f.name.startswith("_"))
        return {name: copy.copy(getattr(self, name)) for name in known}

    def next_refusal(self) -> int | None:
        """The status of the next refusal to answer, consumed; None when none is left."""
        with self._lock:
            return self.refusals.pop(0) if self.refusals else None

    def take(self, name: str) -> bool:
        """Consume one unit of a counter; True when the fault fires now."""
        with self._lock:
            left = getattr(self, name)
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def garbled(self) -> Reply | None:
        """The answer of a request that never reached the API (a redirect, a page, a cut body), or None."""
        if not self.take("garble"):
            return None
        with self._lock:
            form = self.garble_body
            if form == "cycle":
                form = GARBLE_FORMS[self._rotation % len(GARBLE_FORMS)]
                self._rotation += 1
        return garbled_reply(form)

    def listed(self, created_at: float, now: float | None = None) -> bool:
        """Whether a list shows an instance created at `created_at` (epoch seconds) yet."""
        return (time.time() if now is None else now) - created_at >= self.list_lag

    def shown(self, row: dict[str, Any]) -> dict[str, Any]:
        """An instance row as show and list send it: without its price under `unpriced`."""
        if self.unpriced:
            row.pop("dph_total", None)
        return row

    def next_rate_limit_body(self) -> str:
        """The 429 body form to send next."""
        with self._lock:
            if self.rate_limit_body != "cycle":
                return self.rate_limit_body
            form = RATE_LIMIT_BODIES[self._rotation % len(RATE_LIMIT_BODIES)]
            self._rotation += 1
            return form


def garbled_reply(form: str, real: Any = None) -> Reply:
    """An answer in one of the GARBLE_FORMS; `truncated` cuts `real` (the answer that was due) short."""
    if form == "redirect":
        return Reply(302, "", headers={"Location": "https://console.vast.ai/login/?next=/api/"})
    if form == "html":
        return Reply(200, MAINTENANCE_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
    if form == "text":
        return Reply(200, "OK")
    if form == "empty":
        return Reply(200, "", headers={"Content-Type": "application/json"})
    if form == "missing":
        return Reply(200, {"success": True})
    text = json.dumps(real if real is not None else {"success": True, "instances": [{"id": 1}]})
    return Reply(200, text[: max(1, len(text) // 2)], headers={"Content-Type": "application/json"})


def _convert(name: str, kind: type, value: Any) -> Any:
    if kind is list:  # statuses: a JSON list, or text joined with + or , (the CLI form)
        items = value.replace("+", ",").split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError(f"{name} must be a list of statuses, got {value!r}")
        return [_convert(name, int, item) for item in items if str(item).strip()]
    if kind is bool:
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            return value.lower() in ("true", "1", "yes", "on")
        return bool(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {kind.__name__}, got {value!r}") from None


def parse_faults(text: str) -> dict[str, str]:
    """`name=value,name=value` (the CLI form) as a mapping; lists use `+`, as in route=search+create."""
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected name=value, got {item!r}")
        values[name.strip()] = value.strip().replace("+", ",") if name.strip() == "route" else value.strip()
    return values


def next_utc_midnight(now: float | None = None) -> int:
    """Epoch seconds of the next UTC midnight, when the real daily search quota resets."""
    tm = time.gmtime(time.time() if now is None else now)
    return calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0)) + 86_400
