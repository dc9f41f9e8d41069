"""The outcome is the job's own: its result file, else its log's final line; "unknown", saying why, else."""

from __future__ import annotations

import json

from vastjob.vast.outcome import read_outcome

LOG = """2026-01-01T00:00:00Z [vastjob] job demo, spec abc
2026-01-01T00:00:01Z [run] start, attempt 1
2026-01-01T00:00:02Z [run] failed, exit code 3
2026-01-01T00:00:02Z [vastjob] job failure, exit code 1: stop
2026-01-01T00:01:00Z [vastjob] job demo, spec abc
2026-01-01T00:01:01Z [prep] done before: skipped
2026-01-01T00:01:01Z [run] start, attempt 1
2026-01-01T00:01:09Z [run] done
2026-01-01T00:01:09Z [vastjob] job success, exit code 0: destroy
"""


def test_the_last_start_decides_and_its_steps_are_read() -> None:
    told = read_outcome(None, LOG)
    assert (told.outcome, told.exit_code, told.source) == ("succeeded", 0, "log")
    assert told.steps == (
        {"id": "prep", "start": "", "end": "2026-01-01T00:01:01Z", "status": "skipped"},
        {"id": "run", "start": "2026-01-01T00:01:01Z", "end": "2026-01-01T00:01:09Z", "status": "done"},
    )


def test_a_failure_names_the_failed_step() -> None:
    told = read_outcome(None, LOG.split("2026-01-01T00:01:00Z")[0])
    assert (told.outcome, told.why) == ("failed", "step run failed, exit code 3")


def test_the_result_wins_over_the_log() -> None:
    result = {"outcome": "failed", "exit_code": 0, "reason": "a required output was not uploaded"}
    told = read_outcome(json.dumps(result), LOG)
    assert (told.outcome, told.why, told.source) == ("failed", "a required output was not uploaded", "result")


def test_what_cannot_be_read_is_unknown_and_says_why() -> None:
    assert read_outcome(None, None).why == "neither the job's result nor its log could be read"
    running = read_outcome(None, LOG.splitlines()[0] + "\n")
    assert running.outcome == "unknown" and "no final line" in running.why
    assert read_outcome("{not json", None).outcome == "unknown"
    signal = read_outcome(None, "2026-01-01T00:00:00Z [vastjob] job signal, exit code 143: keep\n")
    assert signal.outcome == "unknown" and "signal" in signal.why


def test_the_results_own_step_times_and_price_are_read_when_present() -> None:
    lines = [
        "2026-01-01T00:01:00Z [vastjob] job demo, spec abc",
        "2026-01-01T00:01:01Z [run] start, attempt 1",
        "2026-01-01T00:01:30Z [run] done",
    ]
    result = json.dumps({"outcome": "succeeded", "exit_code": 0, "dph_total": 0.241, "steps": lines})
    told = read_outcome(result, None)  # the log could not be read: the result alone tells
    run = {"id": "run", "start": "2026-01-01T00:01:01Z", "end": "2026-01-01T00:01:30Z", "status": "done"}
    assert told.steps == (run,) and told.dph_total == 0.241
    assert told.ended_at == 1767225690.0  # its last step's end
    # Beside the log, the result's steps are still the ones read, and the final line gives the time.
    both = read_outcome(result, LOG)
    assert both.steps == (run,) and both.ended_at == 1767225669.0


def test_a_result_without_steps_or_price_falls_back_to_the_log_and_none() -> None:
    for extra in ({}, {"steps": "not a list", "dph_total": "0.2"}, {"steps": [{"id": 1}], "dph_total": True}):
        told = read_outcome(json.dumps({"outcome": "succeeded", "exit_code": 0, **extra}), LOG)
        assert told.dph_total is None
        assert [s["id"] for s in told.steps] == ["prep", "run"]  # the log's reading
