"""Why no offer matches, against the emulator's market: the filter that left nothing, and the cheapest
offer over the cap."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.jobs import rented_doc as job_doc
from tests.support.wire import fast_client
from vastjob.emulator import Emulator
from vastjob.spec.model import JobSpec
from vastjob.vast.explain import explain_no_offer
from vastjob.vast.query import build_query, select


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path_factory.mktemp("sandbox"), n_offers=1500, seed=3, auto_advance=False) as e:
        yield e


def job(**offer: Any) -> JobSpec:
    doc = job_doc()
    doc["offer"] = {**doc["offer"], **offer}
    return JobSpec.from_document(doc, source="<test>")


def test_a_cap_below_the_market_names_the_cap_and_the_cheapest_offer_it_excluded(emu: Emulator) -> None:
    spec = job(max_price_per_hour=0.01)
    with fast_client(emu.url, emu.api_key) as client:
        report = explain_no_offer(spec, client)
        # The same job with no real cap, searched and ranked as apply does: its best offer is the one named.
        uncapped = dataclasses.replace(spec.offer, max_price_per_hour=1000.0)
        found = client.search_offers(build_query(uncapped, spec.instance.disk_gb))
    best = select(found, uncapped, spec.instance.disk_gb)[0]
    assert report.removed_by == "offer.max_price_per_hour"
    assert report.cheapest_over_cap is not None
    assert report.cheapest_over_cap.offer.id == best.offer.id
    assert report.cheapest_over_cap.price_per_hour == pytest.approx(best.price_per_hour)
    assert [s.name for s in report.steps] == [
        "offer.gpu.min_vram_gb",
        "offer.verified_only",
        "offer.max_price_per_hour",
    ]
    assert report.steps[0].left >= report.steps[1].left > 0 == report.steps[2].left
    text = report.render()
    assert f"offer {best.offer.id}" in text and "raise offer.max_price_per_hour" in text
    over_by = report.to_json()["cheapest_over_cap"]["over_by"]
    assert over_by == pytest.approx(best.price_per_hour - 0.01, abs=1e-3)


def test_a_region_with_no_offer_is_the_filter_named(emu: Emulator) -> None:
    with fast_client(emu.url, emu.api_key) as client:
        report = explain_no_offer(job(regions=["AQ"], max_price_per_hour=100), client)
    assert report.removed_by == "offer.regions" and report.cheapest_over_cap is None
    lines = report.render().splitlines()
    assert lines[-1].strip().startswith("offer.regions AQ") and lines[-1].endswith(" 0 left")


def test_gpus_not_on_the_market_at_all(tmp_path: Path) -> None:
    with (
        Emulator(sandbox=tmp_path, offers=[], auto_advance=False) as empty,
        fast_client(empty.url, empty.api_key) as client,
    ):
        report = explain_no_offer(job(), client)
    assert report.market == 0 and report.removed_by is None and report.cheapest_over_cap is None
    assert report.render() == "no offer matches job tiny: no rentable 1x RTX 4090 is on the market now"


@pytest.mark.parametrize("command", ["offers", "plan", "apply"])
def test_offers_plan_and_apply_exit_1_with_the_explanation(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import json

    import yaml
    from click.testing import CliRunner

    from vastjob.cli import cli

    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    doc = job_doc()
    doc["offer"] = {**doc["offer"], "max_price_per_hour": 0.01}
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    text = CliRunner().invoke(cli, [command, str(spec), *(["--yes"] if command == "apply" else [])])
    assert text.exit_code == 1 and "offer.max_price_per_hour 0.01" in text.stderr
    assert "the cheapest offer the cap excluded" in text.stderr
    as_json = CliRunner().invoke(cli, [command, str(spec), "-o", "json"])
    error = json.loads(as_json.stdout)["errors"]
    assert as_json.exit_code == 1 and error["explanation"]["removed_by"] == "offer.max_price_per_hour"
    assert emu.instances == {}
