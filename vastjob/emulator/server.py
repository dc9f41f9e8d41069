"""The emulator's HTTP server on 127.0.0.1 and its provisioning timer: the `Emulator` object, which owns
the state (`state.State`) that `dispatch` hands to the endpoints."""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from vastjob.emulator.dispatch import dispatch
from vastjob.emulator.faults import Faults
from vastjob.emulator.instances import Instance
from vastjob.emulator.market import generate_offers
from vastjob.emulator.state import Market, State
from vastjob.emulator.wire import Recorded, Reply, error


class Emulator:
    """A local Vast.ai: real HTTP on 127.0.0.1, a market, instances that run their onstart, fault knobs."""

    def __init__(
        self,
        *,
        port: int = 0,
        offers: Iterable[Mapping[str, Any]] | None = None,
        seed: int = 0,
        n_offers: int = 2000,
        sandbox: Path | None = None,
        faults: Faults | None = None,
        api_key: str = "emulator-key",
        auto_advance: bool = True,
        step_seconds: float = 0.2,
        log_delay: float = 0.2,
        kill_delay: float = 0.5,
        log_requests: bool = False,
        record_requests: bool = False,
    ) -> None:
        self.port = port
        self.auto_advance = auto_advance
        self.step_seconds = step_seconds  # how long each provisioning step lasts when auto-advancing
        self.log_requests = log_requests
        source = offers if offers is not None else generate_offers(seed, n_offers)
        self.state = State(
            offers=source,
            sandbox=sandbox,
            faults=faults,
            api_key=api_key,
            log_delay=log_delay,
            kill_delay=kill_delay,
            record_requests=record_requests,
        )
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        """The user API key the emulator accepts."""
        return self.state.api_key

    @property
    def faults(self) -> Faults:
        """The fault knobs; plain attributes, changed at any time."""
        return self.state.faults

    @property
    def sandbox(self) -> Path:
        """The folder holding one sub-folder per instance."""
        return self.state.sandbox

    @property
    def market(self) -> Market:
        """The offers for rent now, by id (a view: renting and destroying change it)."""
        return self.state.market

    @property
    def requests(self) -> list[Recorded]:
        """Every request received, in order, with `record_requests=True` (else empty)."""
        return self.state.requests

    @property
    def instances(self) -> dict[int, Instance]:
        """Every instance created so far by id, destroyed ones included (actual_status "destroyed")."""
        return self.state.instances

    def advance(self, instance_id: int, status: str | None) -> None:
        """Put an instance in a status by hand (running starts its onstart, others kill it)."""
        self.state.advance(instance_id, status)

    def billing(self, instance_id: int) -> dict[str, Any]:
        """The meter of one instance: running and GPU seconds, storage seconds, cost so far."""
        return self.state.billing(instance_id)

    def start(self) -> Emulator:
        """Bind 127.0.0.1 and serve in background threads; port 0 picks a free port."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self.state.url = self.url
        self._stopping.clear()
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="vast-emulator-http",
                daemon=True,
            ),
            threading.Thread(target=self._tick, name="vast-emulator-timer", daemon=True),
        ]
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
        self.state.fleet.shutdown()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(min(0.05, self.step_seconds / 4)):
            if self.auto_advance:
                self.state.fleet.tick(self.step_seconds)
            self.state.afterlife.wake(self.state.fleet)
            self.state.afterlife.tick(self.state.fleet)

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: Any) -> Reply:
        """Answer one request: route, faults, auth, then the endpoint."""
        return dispatch(self.state, method, target, headers, body)


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
        emu.state.record(Recorded(self.command, self.path, dict(self.headers.items()), raw))
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
