"""`vastjob reap` against the emulator: each case it must end is ended, and nothing else is touched."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.wire import fast_client
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.vast.destroy import Patience
from vastjob.vast.hosts import BadHosts
from vastjob.vast.reap import reap

QUICK = Patience(rounds=3, looks=3, poll_s=0.1, confirm_looks=1)
HOUR = 3600


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path / "sb", n_offers=200, auto_advance=False) as e:
        monkeypatch.setenv("VAST_URL", e.url)
        monkeypatch.setenv("VAST_API_KEY", e.api_key)
        yield e


def dated(created: float, runtime: int = HOUR, boot: int = 900, keep: int = 3 * 86_400) -> str:
    c = int(created)
    return f"vastjob:job:0123456789ab:c={c}:b={boot}:d={c + runtime + boot}:k={keep}"


def make(emu: Emulator, label: str | None, status: str | None = "running", **body: Any) -> int:
    with fast_client(emu.url, emu.api_key) as client:
        taken = {int(i.offer["id"]) for i in emu.instances.values()}
        offer = next(o for o in client.search_offers({"limit": 50}) if o["id"] not in taken)
        iid = client.create_instance(offer["id"], {"image": "x", "disk": 10, "label": label, **body})
    if status == "stopped":
        emu.advance(iid, "running")
        emu.state.fleet.request(emu.instances[iid], "stopped")
    elif status is not None:
        emu.advance(iid, status)
    return iid


def alive(emu: Emulator) -> set[int]:
    return {i.id for i in emu.instances.values() if not i.destroyed}


def once(emu: Emulator, now: float, dry_run: bool = False, **kw: Any) -> Any:
    with fast_client(emu.url, emu.api_key) as client:
        return reap(client, dry_run=dry_run, now=lambda: now, patience=QUICK, sleep=time.sleep, **kw)


def test_each_case_is_ended_and_nothing_else(emu: Emulator) -> None:
    t = time.time()
    ended = {
        "past_deadline": make(emu, dated(t - 2 * HOUR)),
        "never_started": make(emu, dated(t - HOUR), status=None),
        "stuck_loading": make(emu, dated(t - HOUR), status="loading"),
        "exited": make(emu, dated(t), status="exited"),
        "unknown": make(emu, dated(t), status="unknown"),
        "offline": make(emu, dated(t), status="offline"),
        "stopped_too_long": make(emu, dated(t - 4 * 86_400, runtime=60), status="stopped"),
        "old_label_dead": make(emu, "vastjob:job:0123456789ab", status="exited"),
    }
    kept = {
        "running_in_time": make(emu, dated(t - 60)),
        "booting_in_time": make(emu, dated(t - 60), status="loading"),
        "stopped_recently": make(emu, dated(t - 2 * HOUR, runtime=60), status="stopped"),
        "old_label_running": make(emu, "vastjob:job:0123456789ab"),
    }
    result = once(emu, t)
    assert {r.verdict.instance.id for r in result.reaped} == set(ended.values())
    assert all(r.outcome == "destroyed" for r in result.reaped) and result.exit_code == 0
    assert alive(emu) == set(kept.values())
    reasons = {r.verdict.instance.id: r.verdict.reason for r in result.reaped}
    assert reasons[ended["past_deadline"]] == "past_deadline"
    assert reasons[ended["never_started"]] == reasons[ended["stuck_loading"]] == "never_started"
    assert reasons[ended["exited"]] == "dead" and reasons[ended["stopped_too_long"]] == "stopped_too_long"
    costs = {r.verdict.instance.id: r.cost for r in result.reaped}
    assert all(c is not None and c >= 0 for c in costs.values())
    # Idempotent: the next pass finds nothing to do.
    again = once(emu, t)
    assert again.reaped == [] and again.exit_code == 0 and alive(emu) == set(kept.values())


def test_a_status_msg_that_never_recovers_is_ended(emu: Emulator) -> None:
    emu.faults.update({"fail_msg": 1})
    bad = make(emu, dated(time.time()), status="loading")
    good = make(emu, dated(time.time()), status="loading")
    result = once(emu, time.time())
    assert [(r.verdict.instance.id, r.verdict.reason) for r in result.reaped] == [(bad, "failed_status")]
    assert alive(emu) == {good}


@pytest.mark.parametrize(
    "label",
    [
        "my own box",  # not vastjob's
        None,
        "C.27000123",  # another tool's, or the console's, form
        "sky-3f2a-head",
        "vastjob-old:job:0123456789ab",
        "vastjob:Job:0123456789ab",  # vastjob's, broken
        "vastjob:job:0123456789ab:d=soon",
        "vastjob:job:0123456789ab:c=1:b=2:d=x:k=4",
        "vastjob:job:0123456789ab:d=5",
    ],
)
def test_labels_that_are_not_vastjobs_are_never_touched(emu: Emulator, label: str | None) -> None:
    t = time.time()
    exited, stopped, running = (make(emu, label, status=s) for s in ("exited", "stopped", "running"))
    result = once(emu, t + 30 * 86_400)  # long past any deadline or retention
    assert result.reaped == [] and alive(emu) == {exited, stopped, running}


def test_dry_run_changes_nothing_and_says_what_it_would_do(emu: Emulator, tmp_path: Path) -> None:
    late = make(emu, dated(time.time() - 2 * HOUR))
    fine = make(emu, dated(time.time()))
    dry = CliRunner().invoke(cli, ["reap", "--dry-run", "-o", "json"])
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert data["dry_run"] is True and [r["id"] for r in data["reaped"]] == [late]
    assert data["reaped"][0]["outcome"] == "would_destroy" and data["reaped"][0]["reason"] == "past_deadline"
    assert alive(emu) == {late, fine}
    assert "would destroy 1 instance" in CliRunner().invoke(cli, ["reap", "--dry-run"]).output
    assert alive(emu) == {late, fine}
    text = CliRunner().invoke(cli, ["reap"])
    assert text.exit_code == 0 and "destroyed 1 instance" in text.output
    assert "past its deadline" in text.output
    assert alive(emu) == {fine}


def test_a_sigkilled_script_is_ended_by_its_deadline(emu: Emulator) -> None:
    emu.faults.update({"kill_script": 1, "kill_script_after": 0.0})
    t = time.time()
    iid = make(emu, dated(t, runtime=60, boot=60), onstart="sleep 600")
    for _ in range(200):
        if not emu.instances[iid].container.is_alive():
            break
        time.sleep(0.02)
    assert emu.instances[iid].actual_status == "running"  # its script is dead, its GPU bills on
    assert once(emu, t + 100).reaped == []
    (ended,) = once(emu, t + 121).reaped
    assert ended.verdict.instance.id == iid and emu.instances[iid].destroyed


def test_a_resurrecting_instance_is_destroyed_for_good_or_reported(emu: Emulator) -> None:
    late = make(emu, dated(time.time() - 2 * HOUR))
    emu.faults.update({"resurrect": 1, "resurrect_after": 0.05})
    (ended,) = once(emu, time.time()).reaped
    assert ended.outcome == "destroyed" and emu.instances[late].destroyed

    stubborn = make(emu, dated(time.time() - 2 * HOUR))
    emu.faults.update({"resurrect": 1000, "resurrect_after": 0.0})
    result = once(emu, time.time())
    assert [r.outcome for r in result.reaped] == ["not_gone"] and result.exit_code == 3
    assert any(f"instance {stubborn} would not go" in e for e in result.errors)


def test_never_started_hosts_are_remembered(emu: Emulator, tmp_path: Path) -> None:
    hosts = BadHosts(tmp_path / "state" / "bad_hosts.json")
    dead = make(emu, dated(time.time()), status="exited")
    late = make(emu, dated(time.time() - 2 * HOUR))
    machine = emu.instances[dead].offer["machine_id"]
    once(emu, time.time(), hosts=hosts)
    assert list(hosts.active()) == [machine]
    assert emu.instances[late].offer["machine_id"] not in hosts.active()  # it ran: not the host's fault


def test_a_running_instance_with_an_old_error_message_is_kept(emu: Emulator) -> None:
    emu.faults.update({"fail_msg": 1})
    iid = make(emu, dated(time.time()), status="running")  # walked to running by hand, message kept
    assert once(emu, time.time()).reaped == [] and alive(emu) == {iid}
