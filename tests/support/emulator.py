"""The emulator in tests: one factory that starts emulators and stops them when the test ends, the `emu`
fixture it makes with the options of the nearest `emulator` marker, and an HTTP client of its API.

    pytestmark = pytest.mark.emulator(n_offers=300, auto_advance=False)

    def test_x(emu: Emulator, api: httpx.Client) -> None: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from vastjob.emulator import Emulator


class StartEmulator(Protocol):
    """Start an emulator with `Emulator`'s keyword options; the sandbox defaults to one under tmp_path."""

    def __call__(self, **options: Any) -> Emulator: ...


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[StartEmulator]:
    """A factory of started emulators, each stopped (its onstart processes killed) when the test ends."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        name = "sandbox" if not started else f"sandbox-{len(started) + 1}"
        options.setdefault("sandbox", tmp_path / name)
        emulator = Emulator(**options).start()
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in reversed(started):
            emulator.stop()


@pytest.fixture
def emu(request: pytest.FixtureRequest, start_emulator: StartEmulator) -> Emulator:
    """The test's emulator, made with the keyword options of the nearest `emulator` marker."""
    marker = request.node.get_closest_marker("emulator")
    return start_emulator(**(marker.kwargs if marker else {}))


def client_of(emu: Emulator, timeout: float = 10) -> httpx.Client:
    """An HTTP client of the emulator's API with its user key (close it, or use it in `with`)."""
    return httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.api_key}"}, timeout=timeout)


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    """An HTTP client of the emulator's API, with its user key."""
    with client_of(emu) as client:
        yield client


@pytest.fixture
def cli_emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The test's emulator (options from the `emulator` marker), with VAST_URL and VAST_API_KEY pointing
    every command at it."""
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    return emu
