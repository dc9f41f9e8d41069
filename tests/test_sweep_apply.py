"""Sweeps in the emulator: at most max_parallel runs at once (counted from the emulator's own fleet at each
create), the budget as a hard cap, on_failure: stop, a detached apply resumed without a second instance of
any run, and a second apply of a finished sweep that creates nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.emulator import StartEmulator
from tests.support.wire import fast_client
from vastjob.cli import cli
from vastjob.emulator import Emulator
from vastjob.errors import Interrupted
from vastjob.spec.load import load_sweep
from vastjob.spec.sweep import Sweep
from vastjob.vast.apply import ApplyOptions
from vastjob.vast.budget import BudgetError
from vastjob.vast.labels import spec_of
from vastjob.vast.sweep import SweepApplier
from vastjob.vast.sweep_record import SweepRecord

pytestmark = pytest.mark.slow

SPEC = """\
version: 1
name: grid
offer:
  gpu: {{names: [RTX 4090], count: 1}}
  max_price_per_hour: 0.30
instance: {{image: python:3.11-slim, disk_gb: 20}}
run:
  command: echo "stage $STAGE seed $SEED" && if [ "$STAGE" = slow ]; then sleep 60; fi && [ "$STAGE" != bad ]
  max_runtime: {runtime}
shutdown: {{on_success: destroy, on_failure: stop}}
matrix:
  env.STAGE: [{stages}]
  env.SEED: ["1", "2"]
sweep: {{max_parallel: {parallel}, budget: {budget}, on_failure: {on_failure}}}
"""


def sweep_of(
    tmp_path: Path,
    stages: str = "a, b, c",
    parallel: int = 2,
    budget: float = 1.0,
    on_failure: str = "continue",
    runtime: str = "10m",
) -> Sweep:
    path = tmp_path / "grid.yaml"
    text = SPEC.format(
        stages=stages, parallel=parallel, budget=budget, on_failure=on_failure, runtime=runtime
    )
    path.write_text(text, encoding="utf-8")
    return load_sweep(path)


def watch_creates(emu: Emulator) -> list[int]:
    """For each create the emulator carries out, how many instances have a running (or coming) job then,
    the new one included, read from its own fleet."""
    counts: list[int] = []
    create = emu.state.fleet.create

    def counted(offer: Any, body: Any, fail_status: Any) -> Any:
        up = [i for i in emu.state.fleet.live() if i.actual_status != "stopped"]
        counts.append(len(up) + 1)
        return create(offer, body, fail_status)

    emu.state.fleet.create = counted  # type: ignore[method-assign]
    return counts


def applier(emu: Emulator, sweep: Sweep, record: Path, said: list[str], **kw: Any) -> SweepApplier:
    return SweepApplier(
        sweep,
        lambda: fast_client(emu.url, emu.api_key),
        SweepRecord.load(record, sweep.name),
        ApplyOptions(yes=True, pin=False, poll_s=0.1),
        say=said.append,
        poll_s=0.1,
        **kw,
    )


def billed(emu: Emulator) -> float:
    return float(sum(emu.billing(i)["cost"] for i in list(emu.instances)))


def test_six_runs_two_at_a_time_within_budget_and_a_second_apply_creates_nothing(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    counts = watch_creates(emu)
    sweep = sweep_of(tmp_path)
    said: list[str] = []
    result = applier(emu, sweep, tmp_path / "record.json", said).run()
    assert [r["outcome"] for r in result.rows] == ["succeeded"] * 6, said
    assert len(emu.instances) == 6 and len(counts) == 6
    assert max(counts) <= 2
    labels = sorted(str(spec_of(i.label)) for i in emu.instances.values())
    assert labels == sorted(r.job.label for r in sweep.runs)
    assert all(i.destroyed for i in emu.instances.values())
    # The total shown is what the sweep measured, at least what the emulator billed, within the budget.
    assert billed(emu) <= result.total <= sweep.policy.budget
    text = result.render()
    shown = f"{result.total:.4f}" if result.total < 0.01 else f"{result.total:.2f}"  # short runs: cents/100
    assert f"total ~${shown} of its $1.00 budget" in text
    assert "sweep grid: 6 runs (6 succeeded)" in text
    assert result.exit_code == 0

    again = applier(emu, sweep, tmp_path / "record.json", said).run()
    assert len(emu.instances) == 6
    assert [r["outcome"] for r in again.rows] == ["succeeded"] * 6
    assert again.total == result.total


def test_plan_refuses_a_sweep_whose_worst_case_is_over_its_budget(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    sweep = sweep_of(tmp_path, budget=0.25)  # six runs at $0.30/h for 10m: $0.30 at worst
    with pytest.raises(BudgetError) as refused:
        applier(emu, sweep, tmp_path / "record.json", []).run()
    message = str(refused.value)
    assert message.startswith("sweep grid: the worst case is $0.30 over the budget of $0.25 by $0.05. ")
    assert "run.max_runtime: grid-a-1: $0.30/h x 10m = $0.05; grid-a-2: $0.30/h x 10m = $0.05;" in message
    assert "; and 1 more. " in message
    refused_plan = CliRunner().invoke(
        cli, ["plan", sweep.source], env={"VAST_URL": emu.url, "VAST_API_KEY": "k"}
    )
    assert refused_plan.exit_code == 1 and "over the budget of $0.25 by $0.05" in refused_plan.stderr
    assert emu.instances == {}


def test_the_budget_stops_launching_before_the_sweep_could_overspend(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    sweep = sweep_of(tmp_path, stages="a, b, c", parallel=2, budget=4.0, runtime="10h")  # worst $3 a run
    now = [time.time()]

    def sleep(_s: float) -> None:
        now[0] += 2 * 3600  # two billed hours a look: the runs cost what long runs cost
        time.sleep(0.1)

    said: list[str] = []
    result = applier(
        emu, sweep, tmp_path / "record.json", said, within_budget=True, sleep=sleep, clock=lambda: now[0]
    ).run()
    started = [r for r in result.rows if r["instance_id"] is not None]
    assert result.stopped == "budget", said
    assert 1 <= len(started) < 6 and len(emu.instances) == len(started)
    assert result.total <= sweep.policy.budget and billed(emu) <= sweep.policy.budget
    assert all(r["state"] == "pending" for r in result.rows if r["instance_id"] is None)
    assert "not started)" in result.render() and "stopped by the budget" in result.render()
    assert result.exit_code == 1


def test_a_failed_run_with_on_failure_stop_ends_the_launches(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    sweep = sweep_of(tmp_path, stages="bad, b", parallel=1, on_failure="stop")
    said: list[str] = []
    result = applier(emu, sweep, tmp_path / "record.json", said).run()
    assert [r["outcome"] for r in result.rows] == ["failed", "-", "-", "-"], said
    assert len(emu.instances) == 1
    assert [i.actual_status for i in emu.instances.values()] == ["stopped"]  # kept for debugging, as it says
    assert result.stopped == "failure" and result.exit_code == 1
    # Applied again, the runs left start, and the next failure stops it again; the failed run is not run
    # again unless asked, and then its stopped instance is replaced.
    again = applier(emu, sweep, tmp_path / "record.json", said).run()
    assert [r["outcome"] for r in again.rows] == ["failed", "failed", "-", "-"], said
    assert again.stopped == "failure" and len(emu.instances) == 2
    first = again.rows[0]["instance_id"]
    rerun = applier(emu, sweep, tmp_path / "record.json", said, rerun_failed=True).run()
    assert [r["outcome"] for r in rerun.rows] == ["failed", "failed", "-", "-"], said
    assert len(emu.instances) == 3 and emu.instances[first].destroyed
    assert rerun.rows[0]["instance_id"] != first


def test_a_detached_sweep_resumes_without_a_second_instance_of_any_run(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    sweep = sweep_of(tmp_path, stages="a, b")
    record = tmp_path / "record.json"

    def ctrl_c(_s: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="detached from sweep grid; still running: grid-a-1, grid-a-2"):
        applier(emu, sweep, record, [], sleep=ctrl_c).run()
    assert len(emu.instances) == 2
    said: list[str] = []
    result = applier(emu, sweep, record, said).run()
    assert [r["outcome"] for r in result.rows] == ["succeeded"] * 4, said
    labels = [str(spec_of(i.label)) for i in emu.instances.values()]
    assert len(labels) == 4 and len(set(labels)) == 4


def test_apply_status_and_destroy_a_sweep_from_the_command_line(
    start_emulator: StartEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = start_emulator(n_offers=300)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    sweep_of(tmp_path, stages="a, bad")
    spec = str(tmp_path / "grid.yaml")
    runner = CliRunner()
    plan = runner.invoke(cli, ["plan", spec])
    assert plan.exit_code == 0, plan.output
    assert "worst case $0.20 (spent $0.00) within the budget of $1.00" in plan.stdout
    applied = runner.invoke(cli, ["apply", spec, "--yes"])
    assert applied.exit_code == 1, applied.output  # two runs failed
    assert "sweep grid: 4 runs (2 succeeded, 2 failed)" in applied.stdout
    status = runner.invoke(cli, ["status", spec])
    assert status.exit_code == 0, status.output
    for run in ("grid-a-1", "grid-a-2", "grid-bad-1", "grid-bad-2"):
        assert run in status.stdout
    assert "total ~$" in status.stdout
    assert len(emu.state.fleet.live()) == 2  # the failed runs are stopped, their disks kept
    destroyed = runner.invoke(cli, ["destroy", spec, "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    assert emu.state.fleet.live() == []
    again = runner.invoke(cli, ["apply", spec, "--yes"])
    assert len(emu.instances) == 4, again.output  # the finished sweep is not run again


def test_apply_local_runs_the_sweep_here_and_a_second_one_resumes_from_its_sandbox(tmp_path: Path) -> None:
    sweep_of(tmp_path, stages="a")
    spec, sandbox = str(tmp_path / "grid.yaml"), str(tmp_path / "box")
    runner = CliRunner()
    first = runner.invoke(cli, ["apply", spec, "--local", "--yes", "--sandbox", sandbox, "-o", "json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert [r["outcome"] for r in data["runs"]] == ["succeeded", "succeeded"]
    assert 0 < data["total_cost"] <= data["budget"]
    assert (tmp_path / "box" / "sweeps" / "grid.json").is_file()
    second = runner.invoke(cli, ["apply", spec, "--local", "--yes", "--sandbox", sandbox, "-o", "json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["runs"] == data["runs"]  # the same instances: nothing new ran


def test_a_run_that_reaches_its_worst_case_is_destroyed_by_the_sweep(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emu = start_emulator(n_offers=300)
    sweep = sweep_of(tmp_path, stages="slow", parallel=2)
    now = [time.time()]

    def sleep(_s: float) -> None:
        now[0] += 600  # ten minutes a look: a minute of real time would be its whole max_runtime
        time.sleep(0.1)

    said: list[str] = []
    result = applier(emu, sweep, tmp_path / "record.json", said, sleep=sleep, clock=lambda: now[0]).run()
    assert [r["outcome"] for r in result.rows] == ["failed", "failed"], said
    assert all("reached its worst case ($0.05): destroyed" in r["note"] for r in result.rows)
    assert all(i.destroyed for i in emu.instances.values()) and len(emu.instances) == 2
    assert result.total <= sweep.policy.budget
