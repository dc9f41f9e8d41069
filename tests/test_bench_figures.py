"""Each benchmark figure runs on a tiny size and returns a well-formed result (shape only, never speed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import (
    fig_boot,
    fig_bootstrap,
    fig_coldstart,
    fig_offers,
    fig_ranking,
    fig_reap,
    fig_restart,
    fig_validate,
)
from bench.__main__ import FIGURES, main
from bench.bootsim import critical_path
from bench.harness import Figure, format_figure
from bench.report import main as report_main
from vastjob.spec.load import check_file

pytestmark = pytest.mark.slow


def check_shape(fig: Figure, key: str) -> None:
    """A figure has a key, a baseline, a table whose rows fit its columns, a verdict, and JSON-ready data."""
    assert fig.key == key
    assert fig.baseline and fig.target and fig.headline
    assert fig.rows and all(len(row) == len(fig.columns) for row in fig.rows)
    assert isinstance(fig.met, bool)
    for timing in fig.timings:
        assert timing.runs and all(t > 0 for t in timing.runs)
        assert min(timing.runs) <= timing.median <= max(timing.runs)
    text = format_figure(fig)
    assert fig.title in text and fig.headline in text
    json.dumps(fig.to_json())


def test_bootstrap_sizes_every_job() -> None:
    fig = fig_bootstrap.measure()
    check_shape(fig, "bootstrap")
    jobs = sorted(
        p.name
        for p in fig_bootstrap.JOBS.glob("*.yaml")
        if not p.name.startswith("_") and check_file(p).sweep is None
    )
    assert [row[0] for row in fig.rows] == jobs
    assert all(0 < row[2] < row[1] for row in fig.rows)  # the bootstrap is the script compressed
    assert any("gzipped" in note for note in fig.notes)


def test_validate_counts_the_generated_specs(tmp_path: Path) -> None:
    fig = fig_validate.measure(count=4, repeat=1)
    check_shape(fig, "validate")
    assert [t.label for t in fig.timings] == ["vastjob validate", "check-jsonschema"]
    assert fig.extra["count"] == 4
    # The broken sample is reported with its position.
    assert fig.extra["sample_error"].startswith("broken/broken.yaml:")


def test_generated_specs_are_distinct_and_standalone(tmp_path: Path) -> None:
    paths = fig_validate.write_specs(tmp_path, 3)
    texts = [p.read_text() for p in paths]
    assert len(set(texts)) == 3
    assert not any("extends" in t for t in texts)


def test_coldstart_compares_with_bare_python() -> None:
    fig = fig_coldstart.measure(repeat=1)
    check_shape(fig, "coldstart")
    assert fig.timings[0].label == "python -c pass"
    assert "above_python_ms" in fig.extra


def test_offers_runs_both_clients_against_the_emulator() -> None:
    fig = fig_offers.measure(repeat=1, n_offers=300)
    check_shape(fig, "offers")
    assert [t.label for t in fig.timings] == ["vastjob offers JOB", "vastai search offers"]
    assert isinstance(fig.extra["same_best_offer"], bool)


def test_ranking_reports_time_and_memory_per_size() -> None:
    fig = fig_ranking.measure(sizes=(50, 200), repeat=1)
    check_shape(fig, "ranking")
    assert [row[0] for row in fig.rows] == [50, 200]
    assert set(fig.extra["peak_bytes"]) == {"50", "200"}
    assert fig.extra["at_100k"] == "extrapolated"


def test_fit_exponent_tells_linear_from_quadratic() -> None:
    linear = [(n, n * 2e-6) for n in (1_000, 10_000, 100_000)]
    quadratic = [(n, n * n * 1e-9) for n in (1_000, 10_000, 100_000)]
    assert fig_ranking.fit_exponent(linear) == pytest.approx(1.0)
    assert fig_ranking.fit_exponent(quadratic) == pytest.approx(2.0)
    assert fig_ranking.fit_exponent([(5, 1.0)]) == 1.0


def test_market_repeats_offers_under_new_ids() -> None:
    offers = fig_ranking.market(fig_ranking.UNIQUE + 3, 200)
    assert len({o["id"] for o in offers}) == len(offers)
    assert all("dph_total" in o for o in offers[-3:])


def test_critical_path_takes_the_longest_chain() -> None:
    needs = {
        "gpu-check": (),
        "apt": ("gpu-check",),
        "clone": ("apt",),
        "pip": ("apt", "clone"),
        "data:x": ("apt", "clone"),
        "run": ("pip", "data:x"),
    }
    assert critical_path(needs, {"apt": 2, "clone": 0.5, "pip": 6, "data": 4}) == 8.5


def test_boot_and_restart_run_the_emitted_script() -> None:
    boot = fig_boot.measure(repeat=1, scale=0.02)
    check_shape(boot, "boot")
    assert boot.extra["critical_path_s"] < boot.extra["sum_s"]
    restart = fig_restart.measure(repeat=1, scale=0.02)
    check_shape(restart, "restart")
    assert restart.extra["markers"] >= 4  # apt, clone, pip, data; gpu-check runs every start


def test_reap_ends_every_scenario_and_meters_the_time_past_deadlines() -> None:
    fig = fig_reap.measure(interval=0.5)
    check_shape(fig, "reap")
    assert [row[0] for row in fig.rows] == list(fig_reap.SCENARIOS)
    assert all(row[5] == "yes" for row in fig.rows)  # every scenario's instance was destroyed
    reasons = {row[0]: row[1] for row in fig.rows}
    assert reasons["status_msg never recovers"] == "failed_status"
    assert reasons["host reports exited"] == "dead"
    assert reasons["script SIGKILLed at start"] == "past_deadline"
    assert all(isinstance(row[2], float) and row[2] >= 0 for row in fig.rows)


def test_main_prints_and_saves_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "bootstrap", "--no-compile", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "latest.json").read_text())
    assert [f["key"] for f in saved["figures"]] == ["bootstrap"]
    assert saved["byte_compiled"] is False and saved["cpus"] >= 1
    assert "Bootstrap size" in capsys.readouterr().out
    assert set(FIGURES) == {
        "bootstrap",
        "coldstart",
        "validate",
        "offers",
        "ranking",
        "restart",
        "boot",
        "capacity",
        "reap",
    }


def test_main_refuses_an_unknown_figure(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "nope", "--out", str(tmp_path)])
    assert exit_info.value.code == 2


def test_report_renders_a_saved_run_as_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--only", "bootstrap", "--no-compile", "--out", str(tmp_path)])
    capsys.readouterr()
    assert report_main([str(tmp_path / "latest.json")]) == 0
    text = capsys.readouterr().out
    assert "| bootstrap |" in text and "### Bootstrap size" in text
    assert text.count("| burgers512.yaml |") == 1
