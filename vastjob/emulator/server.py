"""The emulator's HTTP server on 127.0.0.1: routing, auth, per-request faults, and the `Emulator` object."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from vastjob.emulator import admin, routes
from vastjob.emulator.afterlife import Afterlife
from vastjob.emulator.faults import Faults
from vastjob.emulator.instances import Fleet, Instance, container_env
from vastjob.emulator.market import generate_offers
from vastjob.emulator.wire import Reply, Request, error

# (method, path pattern, route name for faults, handler, who may call it)
# who: "user" needs a user key (container keys get 403), "container" also lets a container key act on
# its own instance, "open" needs no key (the emulator's own endpoints and published log files).
ROUTES: list[tuple[str, re.Pattern[str], str, routes.Handler, str]] = [
    (m, re.compile(p), name, h, who) for m, p, name, h, who in (
        ("POST", r"/api/v0/bundles", "search", routes.search_offers, "user"),
        ("PUT", r"/api/v0/search/asks", "search", routes.search_offers, "user"),
        ("PUT", r"/api/v0/asks/(\d+)", "create", routes.create_instance, "user"),
        ("GET", r"/api/v1/instances", "list", routes.list_instances, "user"),
        ("GET", r"/api/v0/instances", "list", routes.list_instances_v0, "user"),
        ("GET", r"/api/v0/instances/(\d+)", "show", routes.show_instance, "user"),
        ("PUT", r"/api/v0/instances/(\d+)", "manage", routes.manage_instance, "container"),
        ("DELETE", r"/api/v0/instances/(\d+)", "destroy", routes.destroy_instance, "container"),
        ("PUT", r"/api/v0/instances/request_logs/(\d+)", "logs", routes.request_logs, "user"),
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


class Emulator:
    """A local Vast.ai: real HTTP on 127.0.0.1, a market, instances that run their onstart, fault knobs."""

    def __init__(self, *, port: int = 0, offers: Iterable[Mapping[str, Any]] | None = None, seed: int = 0,
                 n_offers: int = 2000, sandbox: Path | None = None, faults: Faults | None = None,
                 api_key: str = "emulator-key", auto_advance: bool = True, step_seconds: float = 0.2,
                 log_delay: float = 0.2, kill_delay: float = 0.5, log_requests: bool = False) -> None:
        self.port = port
        self.api_key = api_key
        self.faults = faults if faults is not None else Faults()
        self.auto_advance = auto_advance
        self.step_seconds = step_seconds  # how long each provisioning step lasts when auto-advancing
        self.log_delay = log_delay  # how long a logs result_url answers 404 before the text is there
        self.kill_delay = kill_delay  # how long after a container's own stop/destroy its processes die
        self.log_requests = log_requests
        source = offers if offers is not None else generate_offers(seed, n_offers)
        self.market: dict[int, dict[str, Any]] = {int(o["id"]): dict(o) for o in source}
        self.sandbox = Path(sandbox or tempfile.mkdtemp(prefix="vast-emulator-"))
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self.fleet = Fleet(self.sandbox, lambda inst: container_env(inst, self.url))
        self.lock = self.fleet.lock
        self.afterlife = Afterlife()
        self.log_results: dict[str, tuple[float, str]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def instances(self) -> dict[int, Instance]:
        """Every instance created so far by id, destroyed ones included (actual_status "destroyed")."""
        return self.fleet.instances

    def start(self) -> Emulator:
        """Bind 127.0.0.1 and serve in background threads; port 0 picks a free port."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._stopping.clear()
        self._threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                          name="vast-emulator-http", daemon=True),
                         threading.Thread(target=self._tick, name="vast-emulator-timer", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and kill every instance's processes."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        self.fleet.shutdown()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(min(0.05, self.step_seconds / 4)):
            if self.auto_advance:
                self.fleet.tick(self.step_seconds)
            self.wake()
            self.afterlife.tick(self.fleet)

    def wake(self) -> None:
        """Bring back instances whose destroy did not last (the `resurrect` fault); their offers leave
        the market again."""
        with self.lock:
            for inst in self.afterlife.wake(self.fleet):
                self.market.pop(int(inst.offer["id"]), None)

    def advance(self, instance_id: int, status: str | None) -> None:
        """Put an instance in a status by hand (running starts its onstart, others kill it)."""
        inst = self.fleet.get(instance_id)
        if inst is None:
            raise KeyError(f"no live instance {instance_id}")
        with self.lock:
            if status == "destroyed":
                self.fleet.destroy(inst)
                self.market[int(inst.offer["id"])] = inst.offer
            else:
                self.fleet.set_status(inst, status)

    def billing(self, instance_id: int) -> dict[str, Any]:
        """The meter of one instance: running and GPU seconds, storage seconds, cost so far, and the
        GPU-seconds billed past the deadline its label carries."""
        inst = self.fleet.instances[instance_id]
        self.afterlife.sample(self.fleet)
        return {**self.fleet.billing(inst), **self.afterlife.meter(inst)}

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: Any) -> Reply:
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
        self.wake()
        request = Request(method, path, query, body, match)
        if who != "open":
            fault = self._fault(name)
            if fault is not None:
                return fault
            denied = self._authorize(request, headers, who)
            if denied is not None:
                return denied
        return handler(self, request)

    def _fault(self, route: str) -> Reply | None:
        faults = self.faults
        if not faults.applies(route):
            return None
        if faults.delay > 0:
            time.sleep(faults.delay)
        if faults.take("rate_limit"):
            return _rate_limited(faults.next_rate_limit_body())
        if faults.take("server_errors"):
            return error(faults.server_error_status, "server_error", "Internal server error (emulated)")
        return None

    def _authorize(self, request: Request, headers: Mapping[str, str], who: str) -> Reply | None:
        auth = headers.get("authorization") or ""
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.query.get("api_key", "")
        if key and key == self.api_key:
            return None
        with self.lock:
            owner = next((i for i in self.fleet.live() if key and i.api_key == key), None)
        if owner is None:
            return error(401, "auth_error", "Invalid user key")
        request.instance_id = owner.id
        if who != "container" or int(request.match.group(1)) != owner.id:
            return error(403, "forbidden", f"This key can only start, stop or destroy instance {owner.id}.")
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from the real service
    server_version = "vast-emulator"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for an ACK between

    def _serve(self) -> None:
        emu = cast(Emulator, self.server.emulator)  # type: ignore[attr-defined]
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            reply = error(400, "invalid_request", "Invalid json body")
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = emu.dispatch(self.command, self.path, headers, body)
            except Exception:  # a bug in the emulator: answer like a server would, and show it
                traceback.print_exc()
                reply = error(500, "server_error", "Internal server error")
        if emu.log_requests:
            sys.stderr.write(f"{self.command} {self.path.split('?')[0]} -> {reply.status}\n")
        if reply.drop:
            self.close_connection = True  # the answer is lost: close without a status line
            return
        if isinstance(reply.body, str):
            payload, kind = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        headers = {"Content-Type": kind, **reply.headers, "Content-Length": str(len(payload))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request line on stderr (log_requests prints a shorter one)."""
