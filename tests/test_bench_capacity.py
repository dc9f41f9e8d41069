"""The capacity figure's search, without the emulator runs (tests/test_vast_transport_e2e.py runs them)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import fig_bootstrap, fig_capacity
from bench.harness import format_figure
from vastjob.compile.transport import render_payload
from vastjob.spec.load import load_job

ROOT = Path(__file__).resolve().parent.parent


def test_the_capacity_figure_finds_both_ceilings() -> None:
    fig = fig_capacity.measure(run=False, top=400)
    assert fig.key == "capacity" and fig.met is True
    inline_max, chunked_max = fig.extra["inline_max"], fig.extra["chunked_max"]
    # The runtime's own size may leave no job of this path inline: then the inline ceiling is 0, refused.
    assert 0 <= inline_max < fig_capacity.TARGET_N < chunked_max
    labels = [row[0] for row in fig.rows]
    assert labels == ["inline only (before)", "target", "largest"]
    forms = [row[4] for row in fig.rows]
    assert forms == ["inline" if inline_max else "refused", "chunked", "chunked"]
    assert all(row[6] == "-" for row in fig.rows), "nothing ran"
    assert fig.headline in format_figure(fig)
    json.dumps(fig.to_json())


def test_the_bootstrap_figure_says_each_jobs_form_and_budget() -> None:
    fig = fig_bootstrap.measure()
    forms = fig.extra["forms"]
    # Each job in the form its payload takes (burgers512 has outgrown the inline one).
    burgers = render_payload(load_job(ROOT / "jobs/burgers512.yaml")).form
    assert forms["burgers512.yaml"] == burgers and set(forms.values()) <= {"inline", "chunked"}
    for row in fig.rows:
        assert row[6].startswith("onstart ") and "/4048, env " in row[6]
        assert (row[5] == "inline") == (row[2] <= 4048)
