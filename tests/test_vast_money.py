"""Money fails closed: apply under each fault knob of the emulator, and under several at once.

Every test checks the same promise: no instance over the cap is left, at most one instance of a spec is
left, and an apply that could not confirm what it left exits non-zero naming every instance that may bill.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.jobs import make_job
from tests.support.wire import Recorder, fast_client
from vastjob.emulator import Emulator
from vastjob.errors import VastjobError
from vastjob.spec.model import JobSpec
from vastjob.vast import lifecycle
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult
from vastjob.vast.client import VastClient
from vastjob.vast.labels import parse_label, spec_of
from vastjob.vast.pacing import VAST_INTERVALS, Pacer
from vastjob.vast.plan import Plan

CAP = 0.8  # the cap of make_job's offer section


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path / "sandbox", n_offers=400, auto_advance=False) as e:
        yield e


@dataclass
class Outcome:
    """How one apply ended: its exit code, its message (or result line), what it said, what it sent."""

    code: int
    message: str
    result: ApplyResult | None
    said: list[str]
    recorder: Recorder = field(repr=False)

    def creates(self) -> int:
        return len([s for s in self.recorder.sent if s.method == "PUT" and "/asks/" in s.url])


def apply(emu: Emulator, job: JobSpec, *, hook: Any = None, real_sleep: bool = False, **opts: Any) -> Outcome:
    """One apply against the emulator, its error (if any) read as the CLI would: exit code and message."""
    recorder, said = Recorder(), list[str]()
    applier = Applier(
        job,
        lambda: fast_client(emu.url, emu.api_key, recorder),
        options=ApplyOptions(**{"yes": hook is None, "poll_s": 0.02, **opts}),
        say=said.append,
        confirm=hook or (lambda plan: True),
        sleep=time.sleep if real_sleep else (lambda s: None),
    )
    try:
        result = applier.run()
    except VastjobError as err:
        return Outcome(err.exit_code, str(err), None, said, recorder)
    return Outcome(0, result.render(), result, said, recorder)


def live(emu: Emulator) -> list[Any]:
    return [i for i in emu.instances.values() if not i.destroyed]


def of_spec(emu: Emulator, job: JobSpec) -> list[Any]:
    return [i for i in live(emu) if spec_of(i.label) == job.label]


def assert_safe(emu: Emulator, job: JobSpec, out: Outcome) -> None:
    """The promise: nothing over the cap left, at most one of the spec, and a failure names what bills."""
    assert [i.id for i in live(emu) if i.dph_total > CAP + 1e-9] == [], "an instance over the cap is left"
    left = of_spec(emu, job)
    assert len(left) <= 1, f"two instances of one spec: {[i.id for i in left]}"
    if out.code == 0:
        assert out.result is not None
        assert [i.id for i in left] == ([out.result.instance_id] if out.result.instance_id else [])
    else:
        for inst in left:
            assert str(inst.id) in out.message or (inst.label or "?") in out.message, out.message


def raise_price(emu: Emulator, to: float) -> Any:
    """A confirm hook: the host raises the chosen offer's price between the search and the create."""

    def hook(plan: Plan) -> bool:
        assert plan.chosen is not None
        emu.market[plan.chosen.offer.id]["dph_base"] = to
        return True

    return hook


# -- 1. a missing price is over the cap -------------------------------------------------------------------


def test_a_show_without_a_price_is_over_the_cap(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"unpriced": True})
    out = apply(emu, job, hook=raise_price(emu, CAP + 0.03))  # really over the cap, and unreadable
    assert out.code == 3 and "without a readable price" in out.message and "destroyed it" in out.message
    assert live(emu) == [] and len(emu.instances) == 1
    assert_safe(emu, job, out)


def test_an_unreadable_price_is_destroyed_even_within_the_cap(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"unpriced": True})
    out = apply(emu, job)
    assert out.code == 3 and "counts as over the cap" in out.message
    assert live(emu) == []


# -- 2. an unchecked price is never "up to date" ------------------------------------------------------------


def test_an_instance_whose_price_check_failed_is_checked_by_the_next_apply(
    emu: Emulator, tmp_path: Path
) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"server_errors": 6, "route": "show"})
    first = apply(emu, job)
    (inst,) = live(emu)
    assert first.code == 3 and f"instance {inst.id}" in first.message
    assert "price not confirmed" in first.message
    label = parse_label(inst.label)
    assert label is not None and not label.priced
    assert_safe(emu, job, first)
    # The host raised its price meanwhile: the next apply checks it as a new one and destroys it.
    inst.offer["dph_base"] = CAP + 0.2
    again = apply(emu, job)
    assert again.code == 3 and f"instance {inst.id} came back at" in again.message
    assert "over the cap" in again.message
    assert live(emu) == [] and again.creates() == 0
    assert_safe(emu, job, again)


def test_an_unconfirmed_instance_within_the_cap_is_confirmed_then_up_to_date(
    emu: Emulator, tmp_path: Path
) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"server_errors": 6, "route": "show"})
    apply(emu, job)
    (inst,) = live(emu)
    again = apply(emu, job)
    assert again.code == 0 and again.result is not None and again.result.action == "up_to_date"
    assert any("never had its price confirmed" in line for line in again.said)
    label = parse_label(inst.label)
    assert label is not None and label.priced
    third = apply(emu, job)
    assert third.code == 0 and not any("price" in line for line in third.said)


# -- 3. a list that is not the documented JSON is an error, never "no instances" ----------------------------


@pytest.mark.parametrize("form", ["redirect", "html", "text", "truncated", "empty", "missing"])
def test_a_list_not_in_the_documented_shape_buys_nothing(emu: Emulator, tmp_path: Path, form: str) -> None:
    job = make_job(tmp_path)
    first = apply(emu, job)
    assert first.code == 0
    emu.faults.update({"garble": 100, "garble_body": form, "route": "list"})
    again = apply(emu, job)
    assert again.code == 3 and again.creates() == 0
    assert "instead of the API's JSON" in again.message or "without `instances`" in again.message
    assert len(live(emu)) == 1
    with fast_client(emu.url, emu.api_key) as client, pytest.raises(VastjobError) as info:
        lifecycle.find(client, "tiny")  # what `status` reads: an error, not "(no vastjob instance)"
    assert info.value.exit_code == 3


# -- 4. a create answered with an unreadable body -----------------------------------------------------------


def test_a_create_answered_garbage_is_found_by_its_label(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"create_garbage": 1})
    out = apply(emu, job)
    (inst,) = live(emu)
    assert out.code == 0 and out.result is not None and out.result.instance_id == inst.id
    assert out.creates() == 1
    assert any("lost or unreadable" in line for line in out.said)
    assert_safe(emu, job, out)


def test_a_create_answered_garbage_and_never_listed_is_named(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"create_garbage": 1, "list_lag": 3600})
    out = apply(emu, job)
    (inst,) = live(emu)
    assert out.code == 3 and inst.label in out.message and "may have made an instance" in out.message
    assert out.creates() == 2  # the resend went to the same offer, found it gone, and stopped there
    assert "without trying another offer" in out.message
    assert_safe(emu, job, out)


# -- 5. a list that lags behind creates ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["lose_create", "error_after_create", "create_garbage"])
def test_a_lagging_list_never_makes_a_second_instance(emu: Emulator, tmp_path: Path, fault: str) -> None:
    job = make_job(tmp_path)
    emu.faults.update({fault: 1, "list_lag": 1.0})
    out = apply(emu, job, real_sleep=True, settle_s=8.0)
    assert out.code == 0 and len(live(emu)) == 1 and out.creates() == 1
    assert_safe(emu, job, out)


def test_concurrent_applies_under_a_lagging_list_keep_one(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"list_lag": 1.0})
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(apply(emu, job, real_sleep=True, settle_s=8.0)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    (kept,) = live(emu)
    assert len(outcomes) == 3
    for out in outcomes:
        assert out.code == 0, out.message
        assert out.result is not None and out.result.instance_id == kept.id
        assert_safe(emu, job, out)


# -- 6. bounds ----------------------------------------------------------------------------------------------


def test_stale_offers_bound_the_creates(tmp_path: Path) -> None:
    with Emulator(sandbox=tmp_path / "sb", n_offers=2000, auto_advance=False) as emu:
        job = make_job(tmp_path)
        emu.faults.update({"vanish": 2000})
        out = apply(emu, job)
        assert out.code == 3 and out.creates() == 10
        assert "gave up after 10 create requests" in out.message
        assert live(emu) == []


def test_a_list_whose_pages_never_end_is_an_error(emu: Emulator, tmp_path: Path) -> None:
    emu.faults.update({"endless_list": True})
    out = apply(emu, make_job(tmp_path))
    assert out.code == 3 and "pages never end" in out.message and out.creates() == 0


def test_create_retries_are_announced(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"rate_limit": 2, "route": "create"})
    out = apply(emu, job)
    assert out.code == 0
    retries = [line for line in out.said if "create attempt" in line]
    assert len(retries) == 2 and "429" in retries[0] and "attempt 2 of 6 in" in retries[0]
    assert "attempt 3 of 6 in" in retries[1] and retries[1].endswith(" s")


# -- 7. disk and offer-specific refusals --------------------------------------------------------------------


def test_an_offer_refusing_the_disk_moves_to_the_next(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)

    def shrink(plan: Plan) -> bool:
        assert plan.chosen is not None
        emu.market[plan.chosen.offer.id]["disk_space"] = 5.0  # the host's disk shrank since the search
        return True

    out = apply(emu, job, hook=shrink)
    (inst,) = live(emu)
    assert out.code == 0 and out.result is not None and out.result.plan is not None
    assert inst.offer["id"] == out.result.plan.candidates[1].offer.id
    assert any("refused this create (400 invalid_args)" in line for line in out.said)


def test_a_stale_min_bid_moves_to_the_next(emu: Emulator, tmp_path: Path) -> None:
    offer = {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": CAP, "interruptible": True}
    job = make_job(tmp_path, offer=offer)

    def outbid(plan: Plan) -> bool:
        assert plan.chosen is not None
        emu.market[plan.chosen.offer.id]["min_bid"] = 0.75
        return True

    out = apply(emu, job, hook=outbid)
    assert out.code == 0 and len(live(emu)) == 1
    assert any("(400 invalid_price)" in line for line in out.said)


# -- 8. the filters the official CLI sends ------------------------------------------------------------------


def test_verified_only_false_reaches_unverified_hosts(emu: Emulator, tmp_path: Path) -> None:
    offer = {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": 2.0, "verified_only": False}
    out = apply(emu, make_job(tmp_path, offer=offer), dry_run=True)
    assert out.result is not None and out.result.plan is not None
    verified = {c.offer.raw["verified"] for c in out.result.plan.candidates}
    assert verified == {True, False}


def test_datacenter_only_reaches_datacenters_only(emu: Emulator, tmp_path: Path) -> None:
    offer = {
        "gpu": {"names": ["H100 SXM", "A100 SXM4"], "count": 1},
        "max_price_per_hour": 4.0,
        "datacenter_only": True,
    }
    out = apply(emu, make_job(tmp_path, offer=offer), dry_run=True)
    assert out.result is not None and out.result.plan is not None and out.result.plan.candidates
    assert {c.offer.raw["hosting_type"] for c in out.result.plan.candidates} == {1}


# -- 9. what apply says ------------------------------------------------------------------------------------


def test_a_loser_whose_offers_all_went_is_up_to_date_with_the_winner(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    winner: list[Outcome] = []

    def race(plan: Plan) -> bool:
        for cand in plan.candidates[1:]:
            emu.market.vanish(cand.offer.id)  # every other offer goes elsewhere
        winner.append(apply(emu, job))  # the other apply takes the one left
        return True

    out = apply(emu, job, hook=race)
    (kept,) = live(emu)
    assert winner[0].code == 0 and out.code == 0
    assert out.result is not None and out.result.action == "up_to_date" and out.result.instance_id == kept.id
    assert_safe(emu, job, out)


def test_a_rival_over_the_cap_is_not_adopted(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    rival: list[int] = []

    def race(plan: Plan) -> bool:
        # Another apply's instance of this spec, created first, whose price turned out over the cap.
        with fast_client(emu.url, emu.api_key) as client:
            other = plan.candidates[-1].offer.id
            body = {"image": "x", "disk": 20, "label": f"{job.label}:apply-0"}
            rival.append(client.create_instance(other, body))
        emu.instances[rival[0]].offer["dph_base"] = CAP + 1
        return True

    out = apply(emu, job, hook=race)
    assert out.code == 0 and out.result is not None and out.result.action == "created"
    assert out.result.instance_id != rival[0]
    emu.advance(rival[0], "destroyed")  # what its own apply does once it reads the price
    assert_safe(emu, job, out)


def test_a_bid_left_stopped_is_destroyed_and_the_next_offer_taken(emu: Emulator, tmp_path: Path) -> None:
    offer = {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": CAP, "interruptible": True}
    job = make_job(tmp_path, offer=offer)
    emu.faults.update({"bid_stopped": 1})
    out = apply(emu, job)
    assert out.code == 0 and out.result is not None and len(out.result.discarded) == 1
    assert emu.instances[out.result.discarded[0]].destroyed
    assert any("bid left stopped" in line for line in out.said)
    assert_safe(emu, job, out)


def test_a_create_error_naming_an_instance_destroys_it(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path)
    emu.faults.update({"contract_error": 1})
    out = apply(emu, job)
    first = min(emu.instances)
    assert emu.instances[first].destroyed and out.code == 0 and len(live(emu)) == 1
    assert any(f"yet made instance {first}: destroyed it" in line for line in out.said)
    assert_safe(emu, job, out)


def test_a_stopped_result_does_not_say_it_runs() -> None:
    line = ApplyResult("created", "vastjob:tiny:0123456789ab", 7, "stopped").render()
    assert "runs" not in line and "is stopped" in line and "still billed" in line


# -- every fault at once ------------------------------------------------------------------------------------


COMBINED: list[dict[str, Any]] = [
    {"garble": 3, "garble_body": "cycle", "rate_limit": 2, "create_garbage": 1},
    {"list_lag": 0.5, "lose_create": 1, "server_errors": 2, "unpriced": True},
    {"list_lag": 0.5, "error_after_create": 1, "garble": 4, "garble_body": "cycle", "route": "list,show"},
    {"contract_error": 1, "vanish": 3, "create_garbage": 1, "list_lag": 0.3, "rate_limit": 3},
    {"garble": 50, "garble_body": "html", "route": "show", "create_garbage": 1},
]


@pytest.mark.parametrize("knobs", COMBINED, ids=[",".join(k) for k in COMBINED])
def test_under_combined_faults_money_stays_safe(emu: Emulator, tmp_path: Path, knobs: dict[str, Any]) -> None:
    job = make_job(tmp_path)
    emu.faults.update(knobs)
    out = apply(emu, job, real_sleep=True, settle_s=4.0)
    assert_safe(emu, job, out)
    assert out.creates() <= 10
    # Whatever the first apply left, a second one with the faults gone leaves the promise standing.
    emu.faults.update({k: type(v)() for k, v in knobs.items() if k != "garble_body"})
    again = apply(emu, job)
    assert_safe(emu, job, again)


def test_requests_are_paced_to_vasts_documented_intervals(emu: Emulator) -> None:
    slept: list[float] = []
    client = VastClient(emu.api_key, emu.url, pacing=VAST_INTERVALS, sleep=slept.append)
    with client:
        client.search_offers({"limit": 1})
        client.search_offers({"limit": 1})  # 10 a minute: the second waits out the 6 s
        client.list_instances()
    assert len(slept) == 1 and 5.0 < slept[0] <= 6.0
    unpaced: list[float] = []
    with VastClient(emu.api_key, emu.url, sleep=unpaced.append) as local:  # 127.0.0.1: not Vast's limits
        local.search_offers({"limit": 1})
        local.search_offers({"limit": 1})
    assert unpaced == []
    assert Pacer.for_url("https://console.vast.ai", None, slept.append).intervals == dict(VAST_INTERVALS)


ALONE: list[dict[str, Any]] = [
    {"rate_limit": 4},
    {"server_errors": 3},
    {"server_errors": 2, "route": "create"},
    {"vanish": 5},
    {"lose_create": 1},
    {"create_garbage": 1},
    {"contract_error": 1},
    {"error_after_create": 1},
    {"unpriced": True},
    {"list_lag": 3600},
    {"endless_list": True},
    {"refusals": [200, 503]},
    *({"garble": 3, "garble_body": "cycle", "route": r} for r in ("search", "create", "list", "show")),
    {"garble": 100, "garble_body": "redirect", "route": "show"},
]


@pytest.mark.parametrize("knobs", ALONE, ids=[",".join(f"{k}={v}" for k, v in k.items()) for k in ALONE])
def test_under_each_fault_alone_it_stays_safe(emu: Emulator, tmp_path: Path, knobs: dict[str, Any]) -> None:
    job = make_job(tmp_path)
    emu.faults.update(knobs)
    out = apply(emu, job, settle_s=0.0)
    assert_safe(emu, job, out)
    assert out.creates() <= 10
