"""Bad hosts are remembered: a machine whose instance never ran, or failed its gpu-check, is skipped by
apply's ranking for a while, and `plan` shows it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support.jobs import make_job
from tests.support.jobs import rented_doc as job_doc
from tests.support.wire import fast_client
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.errors import ApiError
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult
from vastjob.vast.destroy import Patience
from vastjob.vast.hosts import BadHosts, gpu_check_failed
from vastjob.vast.reap import reap

QUICK = Patience(rounds=2, looks=2, poll_s=0.05, confirm_looks=1)


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path / "sb", n_offers=400, auto_advance=False) as e:
        monkeypatch.setenv("VAST_URL", e.url)
        monkeypatch.setenv("VAST_API_KEY", e.api_key)
        yield e


def test_the_store_remembers_for_a_while_and_survives_a_broken_file(tmp_path: Path) -> None:
    clock = [1000.0]
    hosts = BadHosts(tmp_path / "s" / "bad_hosts.json", remember_s=100, now=lambda: clock[0])
    assert hosts.active() == {}
    hosts.remember(7, "reached exited")
    clock[0] += 50
    hosts.remember(8, "gpu-check failed")
    assert sorted(hosts.active()) == [7, 8] and hosts.active()[7].why == "reached exited"
    clock[0] += 60
    assert sorted(hosts.active()) == [8]  # 7 is forgotten
    hosts.path.write_text("{not json")
    assert hosts.active() == {}
    assert (tmp_path / "s" / "bad_hosts.unreadable").read_text() == "{not json"
    hosts.remember(9, "x")
    assert sorted(hosts.active()) == [9]


def test_the_default_store_is_under_the_xdg_state_folder(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert BadHosts.default(env).path == tmp_path / ".local/state/vastjob/bad_hosts.json"
    env["XDG_STATE_HOME"] = str(tmp_path / "st")
    assert BadHosts.default(env).path == tmp_path / "st/vastjob/bad_hosts.json"


def test_a_failed_start_is_remembered_and_skipped_by_the_next_apply(tmp_path: Path) -> None:
    hosts = BadHosts(tmp_path / "bad_hosts.json")
    job = make_job(tmp_path)

    with Emulator(sandbox=tmp_path / "sb", n_offers=400, step_seconds=0.02) as emu:

        def apply(**opts: object) -> ApplyResult:
            settings: dict[str, Any] = {"yes": True, "poll_s": 0.01, "destroy_patience": QUICK, **opts}
            connect = lambda: fast_client(emu.url, emu.api_key)  # noqa: E731
            options = ApplyOptions(**settings)
            return Applier(job, connect, options=options, sleep=time.sleep, hosts=hosts).run()

        emu.faults.update({"fail_instances": 1})
        first = apply(wait=True)
        (failed_id,) = first.discarded
        bad_machine = emu.instances[failed_id].offer["machine_id"]
        assert list(hosts.active()) == [bad_machine]
        assert emu.instances[failed_id].destroyed and first.state == "running"
        with fast_client(emu.url, emu.api_key) as client:
            client.destroy_instance(first.instance_id)  # type: ignore[arg-type]
        plan = apply(dry_run=True).plan
    assert plan is not None
    assert [c.offer.raw["machine_id"] for c in plan.skipped] == [bad_machine]
    assert bad_machine not in {c.offer.raw["machine_id"] for c in plan.candidates}
    assert plan.to_json()["skipped_bad_hosts"][0]["machine_id"] == bad_machine


def test_apply_gives_up_on_an_instance_past_its_boot_allowance(emu: Emulator, tmp_path: Path) -> None:
    hosts = BadHosts(tmp_path / "bad_hosts.json")
    job = make_job(tmp_path, shutdown={"boot_allowance": "1s"})
    ticks = itertools.count()
    applier = Applier(
        job,
        lambda: fast_client(emu.url, emu.api_key),
        options=ApplyOptions(yes=True, wait=True, poll_s=0.01, max_replacements=1, destroy_patience=QUICK),
        sleep=lambda s: None,
        clock=lambda: next(ticks) * 0.4,  # time passes at each look; nothing ever provisions
        hosts=hosts,
    )
    said: list[str] = []
    applier.say = said.append
    with pytest.raises(ApiError, match="never reached running") as info:
        applier.run()
    assert info.value.error == "never_running"
    assert all(i.destroyed for i in emu.instances.values()) and len(emu.instances) == 2
    assert len(hosts.active()) == 2 and any("boot allowance" in line for line in said)


def test_reap_remembers_a_host_whose_gpu_check_failed(emu: Emulator, tmp_path: Path) -> None:
    hosts = BadHosts(tmp_path / "bad_hosts.json")
    now = int(time.time())
    label = f"vastjob:job:0123456789ab:c={now}:b=900:d={now + 4000}:k=86400"
    log_line = "2026-12-01T00:00:00Z [gpu-check] failed, exit code 1"
    with fast_client(emu.url, emu.api_key) as client:
        offers = client.search_offers({"limit": 2})
        texts = (f"'{log_line}'", "'[run] failed, exit code 2'")
        bad, fine = (
            client.create_instance(o["id"], {"image": "x", "label": label, "onstart": f"echo {t}"})
            for o, t in zip(offers, texts, strict=True)
        )
        for iid in (bad, fine):
            emu.advance(iid, "running")
            end = time.monotonic() + 5
            while "failed" not in emu.instances[iid].container.tail(None) and time.monotonic() < end:
                time.sleep(0.02)
            client.set_state(iid, "stopped")
        result = reap(client, now=time.time, patience=QUICK, hosts=hosts)
    assert result.reaped == []  # stopped lately: kept for its retention
    assert list(hosts.active()) == [emu.instances[bad].offer["machine_id"]]
    assert gpu_check_failed(log_line) and not gpu_check_failed("[gpu-check] done")


def test_plan_shows_the_skipped_hosts(emu: Emulator, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(job_doc(), sort_keys=False))
    first = json.loads(CliRunner().invoke(cli, ["plan", str(spec), "-o", "json"]).stdout)
    machine = next(o for o in emu.market.values() if o["id"] == first["chosen"]["id"])["machine_id"]
    BadHosts.default().remember(machine, "instance 1 reached exited")
    text = CliRunner().invoke(cli, ["plan", str(spec)]).output
    assert f"machine {machine} failed lately (instance 1 reached exited)" in text
    again = json.loads(CliRunner().invoke(cli, ["plan", str(spec), "-o", "json"]).stdout)
    assert again["chosen"]["id"] != first["chosen"]["id"]
    assert machine in [s["machine_id"] for s in again["skipped_bad_hosts"]]
