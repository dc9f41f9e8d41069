"""Every apply path against the real emulator: idempotence, refusals, each fault, the price cap, --wait."""

from __future__ import annotations

import json
import re
import secrets as pysecrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import StartEmulator
from tests.support.jobs import make_job
from tests.support.wire import Recorder, fast_client
from vastjob.compile import render_bootstrap
from vastjob.emulator import Emulator
from vastjob.errors import ApiError, Interrupted, RenderError, UserError
from vastjob.spec.model import JobSpec
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult, PriceCapError
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.labels import spec_of
from vastjob.vast.plan import Plan

SECRETS = {"B2_KEY_ID": "kid-4f1e9a", "WANDB_API_KEY": "wandb-77c0d2"}


@pytest.fixture
def emu(start_emulator: StartEmulator) -> Emulator:
    # Instances stay where apply leaves them unless a test advances them.
    return start_emulator(n_offers=400, auto_advance=False)


class Run:
    """An apply wired to an emulator, keeping what went over the wire and what was said."""

    def __init__(self, emu: Emulator, job: JobSpec, env: dict[str, str] | None = None, **opts: Any) -> None:
        self.emu, self.job = emu, job
        self.recorder = Recorder()
        self.sleeps: list[float] = []
        self.said: list[str] = []
        self.confirm_hook: Callable[[Plan], bool] = lambda plan: True
        self.applier = Applier(
            job,
            self.connect,
            options=ApplyOptions(**{"yes": True, "poll_s": 0.02, **opts}),
            environ=env if env is not None else dict(SECRETS),
            say=self.said.append,
            confirm=lambda plan: self.confirm_hook(plan),
            sleep=lambda s: None,
        )

    def connect(self) -> Any:
        return fast_client(self.emu.url, self.emu.api_key, self.recorder, self.sleeps)

    def __call__(self) -> ApplyResult:
        return self.applier.run()


def live(emu: Emulator) -> list[Any]:
    return [i for i in emu.instances.values() if not i.destroyed]


def secret_job(tmp_path: Path, **over: Any) -> JobSpec:
    return make_job(tmp_path, secrets=["B2_KEY_ID", "WANDB_API_KEY"], **over)


def test_apply_creates_one_instance_with_the_agreed_body(emu: Emulator, tmp_path: Path) -> None:
    job = secret_job(tmp_path)
    run = Run(emu, job)
    result = run()
    assert result.action == "created"
    (inst,) = live(emu)
    assert inst.id == result.instance_id
    # The spec's label, then the nonce of the apply that created it, the instance's deadline (created +
    # 10m max_runtime + 15m boot allowance) and the mark of a confirmed price.
    assert spec_of(inst.label) == job.label == f"vastjob:tiny:{job.spec_hash}"
    form = rf"{job.label}:apply-[0-9a-f]{{8}}:c=(\d+):b=900:d=(\d+):k=259200:priced"
    dated = re.fullmatch(form, inst.label or "")
    assert dated is not None and int(dated[2]) - int(dated[1]) == 600 + 900
    assert inst.env == {**SECRETS, "VASTJOB_API_URL": emu.url}
    assert inst.onstart == render_bootstrap(job) and len(inst.onstart) <= 4048
    assert inst.image == "python:3.11-slim" and inst.disk == 20 and inst.bid is None
    (create,) = [s for s in run.recorder.sent if s.method == "PUT" and "/asks/" in s.url]
    body = json.loads(create.body)
    assert body["client_id"] == "me" and body["cancel_unavail"] is True and body["price"] is None
    assert body["runtype"] == "ssh"
    assert result.plan is not None and result.plan.chosen is not None
    assert inst.offer["id"] == result.plan.chosen.offer.id
    for value in SECRETS.values():
        assert value not in inst.onstart
        assert not any(value in s.url for s in run.recorder.sent)
        assert not any(value in line for line in run.said)


def test_missing_secrets_fail_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    run = Run(emu, secret_job(tmp_path), env={})
    with pytest.raises(UserError, match="B2_KEY_ID, WANDB_API_KEY"):
        run()
    assert run.recorder.sent == [] and emu.instances == {}


def test_an_oversized_bootstrap_fails_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    # Random text does not compress: 60000 hex digits are over what even the env's 32768 can carry.
    noise = pysecrets.token_hex(30000)
    run = Run(emu, make_job(tmp_path, run={"command": f"echo {noise}"}))
    with pytest.raises(RenderError, match="over Vast's limit"):
        run()
    assert run.recorder.sent == [] and emu.instances == {}


def test_reapplying_the_same_spec_creates_nothing(emu: Emulator, tmp_path: Path) -> None:
    job = secret_job(tmp_path)
    first = Run(emu, job)()
    again = Run(emu, job)
    result = again()
    assert result.action == "up_to_date" and result.instance_id == first.instance_id
    assert len(live(emu)) == 1
    assert not any("/asks/" in s.url for s in again.recorder.sent)


def test_a_changed_spec_is_refused_without_replace(emu: Emulator, tmp_path: Path) -> None:
    old = Run(emu, make_job(tmp_path))()
    changed = make_job(tmp_path, run={"command": "sleep 31", "max_runtime": "10m"})
    run = Run(emu, changed)
    with pytest.raises(UserError, match="--replace"):
        run()
    assert [i.id for i in live(emu)] == [old.instance_id]
    assert not any("/asks/" in s.url for s in run.recorder.sent)


def test_replace_creates_the_new_then_destroys_the_old(emu: Emulator, tmp_path: Path) -> None:
    old = Run(emu, make_job(tmp_path))()
    changed = make_job(tmp_path, run={"command": "sleep 31", "max_runtime": "10m"})
    run = Run(emu, changed, replace=True)
    result = run()
    assert result.replaced == [old.instance_id]
    (inst,) = live(emu)
    assert inst.id == result.instance_id and spec_of(inst.label) == changed.label
    methods = [(s.method, s.url) for s in run.recorder.sent]
    create_at = next(n for n, (m, u) in enumerate(methods) if m == "PUT" and "/asks/" in u)
    destroy_at = next(n for n, (m, u) in enumerate(methods) if m == "DELETE")
    assert create_at < destroy_at


def test_dry_run_and_a_declined_prompt_create_nothing(emu: Emulator, tmp_path: Path) -> None:
    assert Run(emu, make_job(tmp_path), dry_run=True)().action == "dry_run"
    declined = Run(emu, make_job(tmp_path), yes=False)
    shown: list[Plan] = []
    declined.confirm_hook = lambda plan: bool(shown.append(plan))
    assert declined().action == "declined"
    assert emu.instances == {} and shown and shown[0].chosen is not None


def test_429_bursts_back_off_and_end_with_one_instance(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"rate_limit": 5, "rate_limit_body": "cycle"})
    run = Run(emu, make_job(tmp_path))
    assert run().action == "created"
    assert len(live(emu)) == 1 and len(run.sleeps) == 5


def test_429_on_create_is_sent_again_and_makes_one_instance(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"rate_limit": 2, "route": "create"})
    run = Run(emu, make_job(tmp_path))
    assert run().action == "created"
    assert len(live(emu)) == 1
    assert len([s for s in run.recorder.sent if "/asks/" in s.url]) == 3


def test_5xx_on_create_is_checked_by_label_before_sending_again(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"server_errors": 2, "route": "create"})
    run = Run(emu, make_job(tmp_path))
    assert run().action == "created"
    assert len(live(emu)) == 1
    lists = [s for s in run.recorder.sent if "/api/v1/instances/" in s.url]
    assert len(lists) >= 4  # existing, before create, and one look after each 5xx


def test_a_vanished_offer_moves_to_the_next(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"vanish": 1})
    run = Run(emu, make_job(tmp_path))
    result = run()
    assert result.plan is not None
    first, second = (c.offer.id for c in result.plan.candidates[:2])
    (inst,) = live(emu)
    assert inst.offer["id"] == second and first not in emu.market
    assert any("is gone (410 no_such_ask)" in line for line in run.said)


def test_a_lost_create_answer_leaves_exactly_one_instance(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"lose_create": 1})
    run = Run(emu, make_job(tmp_path))
    result = run()
    (inst,) = live(emu)
    assert result.instance_id == inst.id
    assert len([s for s in run.recorder.sent if "/asks/" in s.url]) == 1
    assert any("was lost" in line for line in run.said)


def test_an_instance_over_the_cap_is_destroyed_at_once(emu: Emulator, tmp_path: Path) -> None:
    run = Run(emu, make_job(tmp_path), yes=False)

    def raise_price(plan: Plan) -> bool:
        # The host raises its price between the search and the create.
        assert plan.chosen is not None
        emu.market[plan.chosen.offer.id]["dph_base"] = 5.0
        return True

    run.confirm_hook = raise_price
    with pytest.raises(PriceCapError, match="over the cap"):
        run()
    assert live(emu) == [] and len(emu.instances) == 1


def test_the_search_quota_stops_apply_with_the_reset_time(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"search_quota": True})
    run = Run(emu, make_job(tmp_path))
    with pytest.raises(ApiError, match="resets at") as info:
        run()
    assert info.value.exit_code == 3 and emu.instances == {}


def test_no_matching_offer_is_a_user_error(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path, offer={"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": 0.01})
    with pytest.raises(UserError, match="no offer matches"):
        Run(emu, job)()


@pytest.fixture
def running_emu(start_emulator: StartEmulator) -> Emulator:
    return start_emulator(n_offers=400, step_seconds=0.05)


@pytest.mark.parametrize("status", ["exited", "offline", "unknown"])
def test_wait_replaces_an_instance_that_never_runs(
    running_emu: Emulator, tmp_path: Path, status: str
) -> None:
    running_emu.faults.update({"fail_instances": 1, "fail_status": status})
    run = Run(running_emu, make_job(tmp_path), wait=True)
    result = run()
    assert result.state == "running" and len(result.discarded) == 1
    (inst,) = live(running_emu)
    assert inst.id == result.instance_id and inst.actual_status == "running"
    assert running_emu.instances[result.discarded[0]].destroyed


def test_wait_gives_up_after_the_replacement_budget(running_emu: Emulator, tmp_path: Path) -> None:
    running_emu.faults.update({"fail_instances": 10})
    run = Run(running_emu, make_job(tmp_path), wait=True, max_replacements=1)
    with pytest.raises(ApiError, match="never reached running"):
        run()
    assert live(running_emu) == [] and len(running_emu.instances) == 2


def test_a_create_slower_than_the_timeout_still_makes_one_instance(emu: Emulator, tmp_path: Path) -> None:
    # Each create answers after 0.6 s and the client gives up at 0.2 s: every answer is lost, yet the
    # first create lands, and the resends find the offer gone; the label check must find the instance.
    emu.faults.update({"delay": 0.6, "route": "create"})
    run = Run(emu, make_job(tmp_path))
    run.applier.connect = lambda: VastClient(
        emu.api_key, emu.url, timeout=0.2, retry=RetryPolicy(attempts=6, base_delay=0.1, max_delay=0.4)
    )
    result = run()
    time.sleep(1.0)  # let every create still in flight land
    (inst,) = live(emu)
    assert result.instance_id == inst.id
    assert any("was lost" in line for line in run.said)
    assert not any("trying the next" in line for line in run.said)


def test_an_interruptible_job_bids_min_bid_plus_margin(emu: Emulator, tmp_path: Path) -> None:
    offer = {
        "gpu": {"names": ["RTX 4090"], "count": 1},
        "max_price_per_hour": 0.8,
        "interruptible": True,
        "bid_margin": 0.25,
    }
    result = Run(emu, make_job(tmp_path, offer=offer))()
    (inst,) = live(emu)
    assert result.plan is not None and result.plan.chosen is not None
    chosen = result.plan.chosen
    assert inst.bid == pytest.approx(chosen.offer.min_bid * 1.25, abs=1e-4)  # type: ignore[operator]
    assert inst.bid == chosen.bid and inst.dph_total <= 0.8


def test_the_vast_package_never_imports_the_emulator() -> None:
    code = (
        "import sys, vastjob.vast.apply, vastjob.vast.lifecycle, vastjob.vast.local, vastjob.cli.vast_cmds; "
        "print([m for m in sys.modules if m.startswith('vastjob.emulator')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("state", ["stopped", "exited"])
def test_a_stopped_instance_of_the_same_spec_is_not_up_to_date(
    emu: Emulator, tmp_path: Path, state: str
) -> None:
    job = make_job(tmp_path)
    first = Run(emu, job)()
    assert first.instance_id is not None
    if state == "stopped":  # as the job's own shutdown does it, through the API
        with Run(emu, job).connect() as client:
            client.set_state(first.instance_id, "stopped")
    else:
        emu.advance(first.instance_id, state)
    again = Run(emu, job)
    with pytest.raises(UserError, match=f"is {state}") as info:
        again()
    message = str(info.value)
    assert "--replace" in message and "vastjob destroy tiny" in message
    assert not any("/asks/" in s.url for s in again.recorder.sent)
    replaced = Run(emu, job, replace=True)()
    assert replaced.action == "created" and replaced.replaced == [first.instance_id]
    assert [i.id for i in live(emu)] == [replaced.instance_id]


def test_an_instance_restarting_after_a_stop_is_up_to_date(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    first = Run(emu, job)()
    assert first.instance_id is not None
    emu.advance(first.instance_id, "stopped")
    emu.instances[first.instance_id].intended_status = "running"  # started again, not there yet
    assert Run(emu, job)().action == "up_to_date"


def test_an_instance_being_stopped_is_not_up_to_date(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    first = Run(emu, job)()
    assert first.instance_id is not None
    emu.advance(first.instance_id, "running")
    emu.instances[first.instance_id].intended_status = "stopped"  # asked to stop, not there yet
    with pytest.raises(UserError, match="is stopping: its job is not running"):
        Run(emu, job)()


def test_an_interrupt_after_the_create_names_the_instance_left(emu: Emulator, tmp_path: Path) -> None:
    run = Run(emu, make_job(tmp_path), wait=True)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    run.applier.sleep = interrupt
    with pytest.raises(Interrupted) as info:
        run()
    (inst,) = live(emu)
    assert info.value.exit_code == 130
    assert f"instance {inst.id}" in str(info.value) and "vastjob destroy tiny" in str(info.value)


class InterruptedAnswer(Recorder):
    """Lets a create reach the server, then stands for a Ctrl-C before its answer is read."""

    def handle_request(self, request: Any) -> Any:
        response = super().handle_request(request)
        if "/asks/" in str(request.url):
            raise KeyboardInterrupt
        return response


def test_an_interrupt_during_the_create_says_it_may_have_landed(emu: Emulator, tmp_path: Path) -> None:
    run = Run(emu, make_job(tmp_path))
    run.recorder = InterruptedAnswer()
    with pytest.raises(Interrupted) as info:
        run()
    assert len(live(emu)) == 1
    assert "may have" in str(info.value) and "vastjob status tiny" in str(info.value)


def test_an_api_failure_after_the_create_names_the_instance_left(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"server_errors": 6, "route": "show"})
    with pytest.raises(ApiError, match="gave up") as info:
        Run(emu, make_job(tmp_path))()
    (inst,) = live(emu)
    assert info.value.exit_code == 3
    assert f"instance {inst.id} was created" in str(info.value)


def test_a_replace_that_times_out_says_what_is_left(emu: Emulator, tmp_path: Path) -> None:
    old = Run(emu, make_job(tmp_path))()
    changed = make_job(tmp_path, run={"command": "sleep 31", "max_runtime": "10m"})
    with pytest.raises(ApiError, match="did not reach running") as info:
        Run(emu, changed, replace=True, wait=True, wait_timeout_s=0.0)()
    new = next(i for i in live(emu) if spec_of(i.label) == changed.label)
    assert f"instance {new.id} was created" in str(info.value)
    assert f"the instance it was to replace, {old.instance_id}, was kept" in str(info.value)
    assert len(live(emu)) == 2


def test_a_replace_whose_old_instance_cannot_be_destroyed_says_so(emu: Emulator, tmp_path: Path) -> None:
    old = Run(emu, make_job(tmp_path))()
    changed = make_job(tmp_path, run={"command": "sleep 31", "max_runtime": "10m"})
    emu.faults.update({"server_errors": 6, "route": "destroy"})
    run = Run(emu, changed, replace=True)
    with pytest.raises(ApiError, match="gave up") as info:
        run()
    new = next(i for i in live(emu) if spec_of(i.label) == changed.label)
    assert f"the instance it was to replace, {old.instance_id}, was kept" in str(info.value)
    assert "was created and is still there" not in str(info.value)
    assert any(f"created instance {new.id}" in line for line in run.said)


def test_two_applies_at_the_same_moment_leave_one_instance(emu: Emulator, tmp_path: Path) -> None:
    job = secret_job(tmp_path)
    first, second = Run(emu, job, yes=False), Run(emu, job)
    # The first apply has searched and shown its plan when the second runs whole and creates its instance.
    outcome: list[ApplyResult] = []
    first.confirm_hook = lambda plan: bool(outcome.append(second())) or True
    result = first()
    (kept,) = live(emu)
    assert outcome[0].action == "created" and outcome[0].instance_id == kept.id
    assert result.action == "up_to_date" and result.instance_id == kept.id
    (discarded,) = result.discarded
    assert discarded > kept.id and emu.instances[discarded].destroyed
    assert any(f"created instance {kept.id} at the same time" in line for line in first.said)
