"""Every instance carries its deadline in its label: the format, the bound, and `status` showing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.jobs import job_of, make_job
from vastjob.vast import deadline, labels

NOW = 1_800_000_000


def test_a_new_label_keeps_the_spec_and_adds_the_deadline(tmp_path: Path) -> None:
    job = make_job(tmp_path)  # max_runtime 10m, the default boot allowance and retention
    text = deadline.label_for(job, NOW)
    parsed = labels.parse_label(text)
    assert parsed is not None and parsed.spec == job.label and labels.spec_of(text) == job.label
    found = deadline.of_label(parsed)
    assert found == deadline.Deadline(NOW, 900, NOW + 600 + 900, 3 * 86_400)
    assert found.boot_by == NOW + 900 and found.left(NOW + 1600) == -100


def test_the_spec_sets_the_allowances(tmp_path: Path) -> None:
    job = make_job(
        tmp_path, shutdown={"on_success": "destroy", "boot_allowance": "5m", "keep_stopped_for": "1h"}
    )
    found = deadline.of_label(labels.parse_label(deadline.label_for(job, NOW)))  # type: ignore[arg-type]
    assert found == deadline.Deadline(NOW, 300, NOW + 600 + 300, 3600)


def test_jobs_without_max_runtime_and_interruptible_ones_get_a_documented_bound(tmp_path: Path) -> None:
    unbounded = make_job(tmp_path, run={"command": "sleep 1"})
    assert deadline.for_job(unbounded, NOW).deadline == NOW + deadline.UNBOUNDED_RUNTIME_S + 900
    offer = {"gpu": {"names": ["RTX 4090"]}, "max_price_per_hour": 0.8, "interruptible": True}
    bid = make_job(tmp_path, offer=offer)
    assert deadline.for_job(bid, NOW).deadline == NOW + 600 * deadline.INTERRUPTIBLE_FACTOR + 900


def test_the_longest_label_fits_vast_and_other_tags_survive() -> None:
    name = "a" * 48
    base = labels.Label(name, "0123456789ab", labels.new_nonce(), True, ("future-tag",))
    full = base.with_fields(**deadline.Deadline(NOW, 900, NOW + 10**6, 259_200).fields(), n="x1y2z3")
    text = str(full)
    assert len(text) <= labels.LABEL_LIMIT
    again = labels.parse_label(text)
    assert again == full and again is not None and again.fields["n"] == "x1y2z3"
    assert again.priced and again.nonce == base.nonce and "future-tag" in again.extra
    assert deadline.of_label(again) == deadline.Deadline(NOW, 900, NOW + 10**6, 259_200)
    # A later relabel (a confirmed price) built from the parsed label keeps the deadline.
    marked = labels.Label(again.name, again.spec_hash, again.nonce, True, again.extra)
    assert deadline.of_label(marked) == deadline.of_label(again)
    with pytest.raises(ValueError):
        base.with_fields(d="not a value")
    assert len(deadline.label_for(job_of(name=name), NOW, labels.new_nonce())) <= labels.LABEL_LIMIT


@pytest.mark.parametrize("label", ["vastjob:demo::d=1", "vastjob:Demo:abc", "vastjob:"])
def test_broken_vastjob_labels_do_not_parse(label: str) -> None:
    assert labels.is_vastjob(label) and labels.parse_label(label) is None


@pytest.mark.parametrize(
    "label",
    [
        "vastjob:demo:abc:c=1:b=2:d=x:k=4",  # not a number
        "vastjob:demo:abc:d=5",  # incomplete
        "vastjob:demo:abc:c=9:b=1:d=5:k=1",  # before its creation
        "vastjob:demo:abc:c=1:b=2:d=5:k=4:d=9",  # a field twice
        "vastjob:demo:abc:c=1:b=2:d=:k=4",  # empty
    ],
)
def test_unreadable_deadlines_are_refused(label: str) -> None:
    parsed = labels.parse_label(label)
    assert parsed is not None
    with pytest.raises(deadline.BadDeadline):
        deadline.of_label(parsed)


def test_the_older_form_parses_without_a_deadline() -> None:
    old = labels.parse_label("vastjob:demo:0123456789ab")
    assert old is not None and old.fields == {} and deadline.of_label(old) is None
    tagged = labels.parse_label("vastjob:demo:0123456789ab:apply-1a2b3c4d:priced")
    assert tagged is not None and deadline.of_label(tagged) is None


def test_status_shows_the_deadline_and_time_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from vastjob.cli import cli
    from vastjob.emulator import Emulator
    from vastjob.vast.client import VastClient

    job = make_job(tmp_path)
    with Emulator(sandbox=tmp_path / "sb", n_offers=200, auto_advance=False) as emu:
        monkeypatch.setenv("VAST_URL", emu.url)
        monkeypatch.setenv("VAST_API_KEY", emu.api_key)
        offer = next(iter(emu.market.values()))
        with VastClient(emu.api_key, emu.url) as client:
            iid = client.create_instance(
                offer["id"], {"image": "x", "disk": 10, "label": deadline.label_for(job)}
            )
            old = next(o for o in emu.market.values())
            client.create_instance(old["id"], {"image": "x", "disk": 10, "label": job.label})
        rows = json.loads(CliRunner().invoke(cli, ["status", "tiny", "-o", "json"]).output)
        assert rows[0]["id"] == iid and 0 < rows[0]["left_s"] <= 600 + 900
        assert rows[1]["deadline"] is None and rows[1]["left_s"] is None
        text = CliRunner().invoke(cli, ["status", "tiny"]).output
        assert "deadline" in text and "left)" in text
