"""Destroy is verified: an instance that comes back after one DELETE is destroyed again, and one that
would not go is named, with exit 3, never reported as destroyed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.wire import Recorder, fast_client
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.vast.destroy import NotGone, Patience, destroy_all, destroy_verified

QUICK = Patience(rounds=3, looks=3, poll_s=0.15, confirm_looks=1)


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path / "sb", n_offers=100, auto_advance=False) as e:
        monkeypatch.setenv("VAST_URL", e.url)
        monkeypatch.setenv("VAST_API_KEY", e.api_key)
        yield e


def created(emu: Emulator, n: int = 1, label: str = "vastjob:tiny:abc") -> list[int]:
    with fast_client(emu.url, emu.api_key) as client:
        offers = client.search_offers({"limit": n})
        return [client.create_instance(o["id"], {"image": "x", "disk": 10, "label": label}) for o in offers]


def test_a_plain_destroy_is_read_back_once_gone(emu: Emulator) -> None:
    (iid,) = created(emu)
    recorder = Recorder()
    with fast_client(emu.url, emu.api_key, recorder) as client:
        destroy_verified(client, iid, patience=QUICK)
    assert emu.instances[iid].destroyed
    assert recorder.paths("DELETE") == [f"/api/v0/instances/{iid}/"]
    assert len(recorder.paths("GET")) == 2  # gone, and still gone a moment later


@pytest.mark.parametrize("after", [0.0, 0.1])
def test_an_instance_that_comes_back_is_destroyed_again(emu: Emulator, after: float) -> None:
    (iid,) = created(emu)
    emu.faults.update({"resurrect": 1, "resurrect_after": after})
    with fast_client(emu.url, emu.api_key) as client:
        outcome = destroy_all(client, [iid], patience=QUICK)
    assert outcome.gone == [iid] and outcome.left == [] and outcome.deletes == 2
    assert emu.instances[iid].destroyed


def test_one_that_would_not_go_is_named_with_exit_3(emu: Emulator) -> None:
    stubborn, fine = created(emu, 2)
    emu.faults.update({"resurrect": 100, "resurrect_after": 0.0})
    with fast_client(emu.url, emu.api_key) as client:
        outcome = destroy_all(client, [stubborn], patience=QUICK)
        assert outcome.left == [stubborn] and outcome.gone == [] and outcome.deletes == QUICK.rounds
        with pytest.raises(NotGone) as info:
            outcome.raise_if_left()
    assert info.value.exit_code == 3 and info.value.ids == [stubborn]
    assert f"instance {stubborn} would not go" in str(info.value)
    assert not emu.instances[fine].destroyed  # nothing else was touched


def test_the_destroy_command_exits_3_for_an_instance_that_would_not_go(emu: Emulator) -> None:
    (iid,) = created(emu)
    emu.faults.update({"resurrect": 100, "resurrect_after": 0.0})
    result = CliRunner().invoke(cli, ["destroy", "tiny", "--yes", "-o", "json"])
    assert result.exit_code == 3
    error = json.loads(result.stdout)["errors"]
    assert error["ids"] == [iid] and "would not go" in error["message"]
    emu.faults.update({"resurrect": 0})
    again = CliRunner().invoke(cli, ["destroy", "tiny", "--yes", "-o", "json"])
    assert again.exit_code == 0 and json.loads(again.stdout) == {"destroyed": [iid]}


def test_an_unreadable_read_back_is_never_taken_for_gone(emu: Emulator) -> None:
    (iid,) = created(emu)
    emu.faults.update({"garble": 1000, "garble_body": "html", "route": "show"})
    with fast_client(emu.url, emu.api_key, attempts=1) as client:
        outcome = destroy_all(client, [iid], patience=QUICK)
    # The DELETE went through, but no answer proved it: reported as still there, not as destroyed.
    assert outcome.gone == [] and outcome.left == [iid]
