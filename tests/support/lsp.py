"""A minimal LSP client over stdio for the YAML language server: open documents, collect their diagnostics.

The server is the one editors run (yaml-language-server from npm, installed into tests/lsp by `make
install`); it is given the job schema for every document and no network (the schema store is off).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "lsp" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
SCHEMA = ROOT / "vastjob" / "schemas" / "job.schema.json"


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic, its line 1-based as vastjob counts lines."""

    line: int
    col: int
    message: str


def server_problem() -> str | None:
    """Why the server cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not SERVER.exists():
        return "yaml-language-server is not installed (make install runs npm ci --prefix tests/lsp)"
    return None


class YamlServer:
    """A running yaml-language-server; use as a context manager."""

    def __init__(self) -> None:
        self._next_id = 0
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._proc = subprocess.Popen(
            ["node", str(SERVER), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "NO_PROXY": "*"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._settings = {
            "yaml": {
                "validate": True,
                "hover": False,
                "completion": True,
                "format": {"enable": False},
                "schemaStore": {"enable": False},
                "schemas": {SCHEMA.as_uri(): "*.yaml"},
                "yamlVersion": "1.2",
            }
        }

    def __enter__(self) -> YamlServer:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": ROOT.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {"publishDiagnostics": {}},
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self._settings})
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()

    def _read(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self._messages.put(json.loads(stream.read(length)))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self._proc.stdin is not None
        self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        """Send a request and wait for its answer, serving the server's own requests meanwhile."""
        self._next_id += 1
        ident = self._next_id
        self._send({"id": ident, "method": method, "params": params})
        while True:
            message = self._next()
            if message.get("id") == ident and "method" not in message:
                return message.get("result")

    def _next(self) -> dict[str, Any]:
        message = self._messages.get(timeout=60)
        if "method" in message and "id" in message:  # the server asks: configuration, registrations
            result: Any = None
            if message["method"] == "workspace/configuration":
                items = message["params"]["items"]
                result = [
                    self._settings.get(i.get("section", "").split(".")[0], self._settings)
                    if i.get("section") == "yaml"
                    else None
                    for i in items
                ]
            self._send({"id": message["id"], "result": result})
        return message

    def diagnostics(self, path: Path, text: str | None = None) -> list[Diagnostic]:
        """Open one document and return the diagnostics the server publishes for it."""
        uri = path.resolve().as_uri()
        content = path.read_text(encoding="utf-8") if text is None else text
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": content}},
        )
        while True:
            message = self._next()
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
                return [
                    Diagnostic(
                        d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["message"]
                    )
                    for d in message["params"]["diagnostics"]
                ]
