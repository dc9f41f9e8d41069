"""status, logs, stop and destroy (and apply's CLI) through the real command line against the emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.support.emulator import StartEmulator
from tests.support.jobs import rented_doc as job_doc
from tests.support.wire import fast_client
from vastjob.cli import cli
from vastjob.cli._common import run
from vastjob.emulator import Emulator
from vastjob.errors import ApiError
from vastjob.vast import lifecycle
from vastjob.vast.client import VastClient


@pytest.fixture
def emu(start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    e = start_emulator(n_offers=400, auto_advance=False)
    monkeypatch.setenv("VAST_URL", e.url)
    monkeypatch.setenv("VAST_API_KEY", e.api_key)
    return e


def spec_file(tmp_path: Path, **over: Any) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(job_doc(**over), sort_keys=False))
    return str(path)


def vj(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def live(emu: Emulator) -> list[Any]:
    return [i for i in emu.instances.values() if not i.destroyed]


def test_status_of_nothing(emu: Emulator) -> None:
    result = vj("status", "--all")
    assert result.exit_code == 0 and "no vastjob instance" in result.output
    assert json.loads(vj("status", "tiny", "-o", "json").output) == []
    # With no JOB, status lists every vastjob instance (like --all), as `kubectl get` does.
    bare = vj("status")
    assert bare.exit_code == 0 and bare.output == result.output


def test_apply_status_logs_stop_destroy(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path, run={"command": "echo marker-$GPU_COUNT; sleep 60", "max_runtime": "10m"})
    applied = vj("apply", "--detach", spec, "--yes", "-o", "json")
    assert applied.exit_code == 0, applied.output
    created = json.loads(applied.stdout)
    assert created["action"] == "created"
    iid = created["instance_id"]
    assert json.loads(vj("apply", "--detach", spec, "--yes", "-o", "json").stdout)["action"] == "up_to_date"

    emu.advance(iid, "running")
    rows = json.loads(vj("status", spec, "-o", "json").output)
    assert [(r["id"], r["state"], r["job"], r["current"]) for r in rows] == [(iid, "running", "tiny", True)]
    assert rows[0]["dph_total"] > 0 and rows[0]["cost_so_far"] >= 0
    table = vj("status", "--all").output
    assert str(iid) in table and "running" in table
    assert "(current)" in vj("status", spec).output

    text = ""
    for _ in range(100):
        text = vj("logs", "tiny", "--tail", "50").output
        if "marker-1" in text:
            break
        time.sleep(0.1)
    assert "marker-1" in text
    assert json.loads(vj("logs", "tiny", "-o", "json").output)["id"] == iid

    stopped = vj("stop", "tiny", "-o", "json")
    assert json.loads(stopped.output) == {"stopped": [iid]}
    assert emu.instances[iid].actual_status == "stopped"
    before = emu.billing(iid)
    time.sleep(0.2)
    after = emu.billing(iid)
    assert (
        after["gpu_seconds"] == before["gpu_seconds"] and after["storage_seconds"] > before["storage_seconds"]
    )

    assert vj("destroy", "tiny", input="n\n").output.strip().endswith("nothing destroyed")
    assert live(emu)
    destroyed = vj("destroy", spec, "--yes", "-o", "json")
    assert json.loads(destroyed.output) == {"destroyed": [iid]}
    assert live(emu) == []


def test_unknown_jobs_and_bad_names_are_user_errors(emu: Emulator) -> None:
    result = vj("stop", "nothing-here")
    assert result.exit_code == 1 and "has no instance" in result.output
    assert vj("destroy", "Not A Name", "--yes").exit_code == 1
    as_json = vj("logs", "nothing-here", "-o", "json")
    assert as_json.exit_code == 1 and "has no instance" in json.loads(as_json.stdout)["errors"]["message"]


def test_api_failures_exit_3_without_the_key(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAST_API_KEY", "not-the-key-5c1b")
    result = vj("status", "--all", "-o", "json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["errors"]["status"] == 401
    assert "not-the-key-5c1b" not in result.output


def test_the_api_key_flag_wins(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAST_API_KEY", "wrong")
    assert vj("status", "--all", "--api-key", emu.api_key).exit_code == 0


def test_offers_and_plan(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path, secrets=["WANDB_API_KEY"])
    table = vj("offers", spec, "--limit", "3")
    assert table.exit_code == 0, table.output
    lines = table.output.strip().splitlines()
    assert len(lines) == 4 and "RTX 4090" in lines[1] and "cost/10m" in lines[0]
    listed = json.loads(vj("offers", spec, "--limit", "5", "-o", "json").output)
    prices = [o["price_per_hour"] for o in listed]
    assert prices == sorted(prices) and all(p <= 0.8 for p in prices)

    plan = vj("plan", spec)
    assert plan.exit_code == 0, plan.output
    for part in (
        "label     vastjob:tiny:",
        "steps",
        "gpu-check",
        "run",
        "offers (",
        "secrets sent in the instance env (values never shown): WANDB_API_KEY (missing)",
    ):
        assert part in plan.output
    as_json = json.loads(vj("plan", spec, "-o", "json").output)
    assert as_json["chosen"]["id"] == listed[0]["id"]
    assert [o["id"] for o in as_json["runners_up"]] == [o["id"] for o in listed[1:5]]
    assert as_json["secrets"] == [{"name": "WANDB_API_KEY", "from": "missing"}]
    assert emu.instances == {}


def test_plan_says_when_nothing_bounds_the_run(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    bounded = vj("plan", spec)
    assert "runtime   at most" in bounded.output
    unbounded = vj("plan", spec, "--set", "run.max_runtime=null")
    assert unbounded.exit_code == 0, unbounded.output
    assert "runtime   no limit: a run that hangs bills until stopped" in unbounded.output


def test_apply_dry_run_and_refusal_through_the_cli(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    dry = vj("apply", spec, "--dry-run")
    assert dry.exit_code == 0 and "dry run: nothing created" in dry.output
    assert vj("apply", "--detach", spec, input="n\n").output.strip().endswith("nothing created")
    assert emu.instances == {}
    assert vj("apply", "--detach", spec, "--yes").exit_code == 0
    changed = vj("apply", "--detach", spec, "--yes", "--set", "run.command=sleep 5")
    assert changed.exit_code == 1 and "--replace" in changed.output
    replaced = vj("apply", "--detach", spec, "--yes", "--set", "run.command=sleep 5", "--replace")
    assert replaced.exit_code == 0 and "destroyed instance" in replaced.output
    assert len(live(emu)) == 1


def test_missing_secret_through_the_cli_creates_nothing(emu: Emulator, tmp_path: Path) -> None:
    result = vj("apply", "--detach", spec_file(tmp_path, secrets=["WANDB_API_KEY", "HF_TOKEN"]), "--yes")
    assert result.exit_code == 1 and "WANDB_API_KEY, HF_TOKEN" in result.output
    assert emu.instances == {}


def test_logs_follow_prints_until_the_instance_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(sandbox=tmp_path / "sandbox", n_offers=400, step_seconds=0.05) as emu:
        monkeypatch.setenv("VAST_URL", emu.url)
        monkeypatch.setenv("VAST_API_KEY", emu.api_key)
        spec = spec_file(
            tmp_path,
            run={"command": "for i in 1 2 3; do echo tick-$i; sleep 0.3; done", "max_runtime": "10m"},
            shutdown={"on_success": "stop", "on_failure": "stop"},
        )
        assert vj("apply", "--detach", spec, "--yes", "--wait").exit_code == 0
        followed = vj("logs", "tiny", "--follow", "--interval", "0.2")
        assert followed.exit_code == 0
        assert [
            line for line in followed.output.splitlines() if line.endswith(("tick-1", "tick-2", "tick-3"))
        ]
        assert "tick-3" in followed.output
        (inst,) = live(emu)
        assert inst.actual_status == "stopped"


def two_instances(emu: Emulator) -> list[int]:
    """Two instances of job tiny from two specs, as a replace whose last step failed leaves them."""
    with fast_client(emu.url, emu.api_key) as client:
        offers = client.search_offers({"limit": 2})
        return [
            client.create_instance(offer["id"], {"image": "python:3.11-slim", "label": f"vastjob:tiny:{h}"})
            for offer, h in zip(offers, ("aaaa", "bbbb"), strict=True)
        ]


def test_destroy_tries_every_instance_and_names_those_left(emu: Emulator, tmp_path: Path) -> None:
    first, second = two_instances(emu)
    assert {i.id for i in live(emu)} == {first, second}
    emu.faults.update({"server_errors": 3, "route": "destroy"})  # the first one's every retry fails
    with fast_client(emu.url, emu.api_key, attempts=3) as client, pytest.raises(ApiError) as info:
        lifecycle.destroy(client, "tiny")
    message = str(info.value)
    assert info.value.exit_code == 3 and info.value.status == 500
    assert f"could not destroy instance {first}" in message and f"destroy done for: {second}" in message
    assert [i.id for i in live(emu)] == [first]


def test_stop_tries_every_instance_and_names_those_left(emu: Emulator) -> None:
    first, second = two_instances(emu)
    emu.faults.update({"server_errors": 3, "route": "manage"})
    with fast_client(emu.url, emu.api_key, attempts=3) as client, pytest.raises(ApiError) as info:
        lifecycle.stop(client, "tiny")
    assert f"could not stop instance {first}" in str(info.value)
    assert f"stop done for: {second}" in str(info.value)
    assert emu.instances[second].actual_status == "stopped"
    assert emu.instances[first].actual_status != "stopped"


def test_a_declined_destroy_prints_json(emu: Emulator, tmp_path: Path) -> None:
    vj("apply", "--detach", spec_file(tmp_path), "--yes")
    declined = vj("destroy", "tiny", "-o", "json", input="n\n")
    # Exit 1: a script must not take "nothing destroyed" for done.
    assert declined.exit_code == 1 and json.loads(declined.stdout) == {"destroyed": []}
    assert len(live(emu)) == 1


def test_status_of_a_stopped_instance_counts_only_its_disk(emu: Emulator, tmp_path: Path) -> None:
    iid = json.loads(vj("apply", "--detach", spec_file(tmp_path), "--yes", "-o", "json").stdout)[
        "instance_id"
    ]
    emu.advance(iid, "running")
    assert json.loads(vj("stop", "tiny", "-o", "json").stdout) == {"stopped": [iid]}
    (row,) = json.loads(vj("status", "tiny", "-o", "json").stdout)
    inst = emu.instances[iid]
    assert row["state"] == "stopped" and row["disk_only"] is True
    assert row["billing_per_hour"] == pytest.approx(inst.dph_disk, abs=1e-6)
    assert row["billing_per_hour"] < row["dph_total"]
    assert row["cost_so_far"] is None
    table = vj("status", "tiny").output
    assert f"{inst.dph_disk:.3f} (disk)" in table


def test_logs_follow_ends_cleanly_when_the_instance_is_destroyed_meanwhile(
    emu: Emulator, tmp_path: Path
) -> None:
    iid = json.loads(vj("apply", "--detach", spec_file(tmp_path), "--yes", "-o", "json").stdout)[
        "instance_id"
    ]
    emu.advance(iid, "running")

    class DestroyedAfterTheLook(VastClient):
        # The job destroys itself between follow's look at the instance and its logs request.
        def show_instance(self, instance_id: int) -> dict[str, Any] | None:
            inst = super().show_instance(instance_id)
            if inst is not None:
                emu.advance(instance_id, "destroyed")
            return inst

    with DestroyedAfterTheLook(emu.api_key, emu.url) as client:
        assert list(lifecycle.follow_logs(client, iid, sleep=lambda _s: None)) == []


def test_ctrl_c_exits_130_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as info:
        run(interrupted, "json")
    assert info.value.code == 130
    assert json.loads(capsys.readouterr().out)["errors"] == {"error": "Interrupted", "message": "interrupted"}


def test_without_an_answer_apply_and_destroy_do_nothing_and_print_json(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    applied = vj("apply", "--detach", spec, "-o", "json", input="")  # no terminal, no answer
    # Exit 1: a CI job that rented nothing must not go green.
    assert applied.exit_code == 1 and json.loads(applied.stdout)["action"] == "declined"
    assert emu.instances == {}
    vj("apply", "--detach", spec, "--yes")
    destroyed = vj("destroy", "tiny", "-o", "json", input="")
    assert destroyed.exit_code == 1 and json.loads(destroyed.stdout) == {"destroyed": []}
    assert len(live(emu)) == 1


def test_logs_follow_keeps_up_when_the_log_outgrows_its_window(emu: Emulator, tmp_path: Path) -> None:
    iid = json.loads(vj("apply", "--detach", spec_file(tmp_path), "--yes", "-o", "json").stdout)[
        "instance_id"
    ]
    log = emu.instances[iid].container.log_path
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(f"line {n}\n" for n in range(1, 4)))
    batches = iter([range(4, 7), range(7, 8), range(8, 11)])  # each shorter than the window of 4

    def grow(_seconds: float) -> None:
        batch = next(batches, None)
        if batch is None:
            emu.advance(iid, "stopped")
            return
        with log.open("a") as out:
            out.write("".join(f"line {n}\n" for n in batch))

    with fast_client(emu.url, emu.api_key) as client:
        followed = list(lifecycle.follow_logs(client, iid, sleep=grow, window=4))
    assert followed == [f"line {n}" for n in range(1, 11)]


def test_status_and_logs_read_the_spec_with_its_overrides(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    over = ("--set", "env.GREETING=hi")
    iid = json.loads(vj("apply", "--detach", spec, *over, "--yes", "-o", "json").stdout)["instance_id"]
    (row,) = json.loads(vj("status", spec, *over, "-o", "json").stdout)
    assert row["id"] == iid and row["current"] is True
    (plain,) = json.loads(vj("status", spec, "-o", "json").stdout)
    assert plain["current"] is False  # without the override it is another spec
    assert json.loads(vj("logs", spec, *over, "-o", "json").stdout)["id"] == iid
    refused = vj("status", "tiny", *over, "-o", "json")
    assert refused.exit_code == 1
    assert "give the spec's path" in json.loads(refused.stdout)["errors"]["message"]


def test_status_with_no_job_lists_every_vastjob_instance(emu: Emulator, tmp_path: Path) -> None:
    ids = []
    for name in ("tiny", "other"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(job_doc(name=name), sort_keys=False))
        ids.append(
            json.loads(vj("apply", "--detach", str(path), "--yes", "-o", "json").stdout)["instance_id"]
        )
    rows = json.loads(vj("status", "-o", "json").stdout)
    assert sorted((r["id"], r["job"]) for r in rows) == sorted(zip(ids, ["tiny", "other"], strict=True))


def test_logs_prefers_the_running_instance_of_the_current_spec(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    current = json.loads(vj("apply", "--detach", spec, "--yes", "-o", "json").stdout)["instance_id"]
    emu.advance(current, "running")
    # A newer instance of an older spec, stopped: the highest id, and not the one anyone means.
    with fast_client(emu.url, emu.api_key) as client:
        offer = client.search_offers({"num_gpus": {"eq": 1}, "limit": 1})[0]
        old = client.create_instance(
            offer["id"], {"client_id": "me", "image": "x", "disk": 10, "label": "vastjob:tiny:0123456789ab"}
        )
        client.set_state(old, "stopped")
    assert old > current
    assert json.loads(vj("logs", spec, "-o", "json").stdout)["id"] == current
    assert json.loads(vj("logs", "tiny", "-o", "json").stdout)["id"] == current  # running beats stopped


def test_logs_tail_0_prints_nothing(emu: Emulator, tmp_path: Path) -> None:
    iid = json.loads(vj("apply", "--detach", spec_file(tmp_path), "--yes", "-o", "json").stdout)[
        "instance_id"
    ]
    emu.advance(iid, "running")
    none = vj("logs", "tiny", "--tail", "0")
    assert none.exit_code == 0 and none.stdout == ""
    assert json.loads(vj("logs", "tiny", "--tail", "0", "-o", "json").stdout)["lines"] == []
    assert vj("logs", "tiny", "--tail", "-1").exit_code == 2


def test_logs_follow_with_tail_0_shows_only_new_lines(emu: Emulator, tmp_path: Path) -> None:
    iid = json.loads(vj("apply", "--detach", spec_file(tmp_path), "--yes", "-o", "json").stdout)[
        "instance_id"
    ]
    log = emu.instances[iid].container.log_path
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("old 1\nold 2\n")
    batches = iter([["new 1"], ["new 2", "new 3"]])

    def grow(_seconds: float) -> None:
        batch = next(batches, None)
        if batch is None:
            emu.advance(iid, "stopped")
            return
        with log.open("a") as out:
            out.write("".join(f"{line}\n" for line in batch))

    with fast_client(emu.url, emu.api_key) as client:
        followed = list(lifecycle.follow_logs(client, iid, sleep=grow, skip_first=True))
    assert followed == ["new 1", "new 2", "new 3"]
