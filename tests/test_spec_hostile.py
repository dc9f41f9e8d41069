"""Inputs meant to crash or stall the validator: oversized files, large files with late syntax errors,
numbers of thousands of digits. Each is bounded by a cap or a path, which is what these tests check."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from vastjob.spec import parsers, reader
from vastjob.spec.load import MAX_BYTES, check_file

HEAD = "version: 1\nname: big\noffer: {max_price_per_hour: 1}\ninstance: {image: x}\n"
HEAD += "run: {command: go, max_runtime: 1h}\nenv:\n"


def _big(tmp_path: Path, tail: str, size: int = MAX_BYTES - 4096) -> Path:
    lines, n = [HEAD], len(HEAD)
    i = 0
    while n < size:
        line = f"  VAR_{i}: value number {i}\n"
        lines.append(line)
        n += len(line)
        i += 1
    path = tmp_path / "job.yaml"
    path.write_text("".join(lines) + tail, encoding="utf-8")
    return path


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "job.yaml"
    with path.open("wb") as f:  # sparse: a 300 MB file of NULs costs no disk
        f.truncate(300 * 1024 * 1024)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("an oversized file was read"))
    [problem] = check_file(path).problems
    assert (problem.line, problem.col) == (1, 1)
    assert f"at most {MAX_BYTES}" in problem.message


def test_a_large_file_is_read_by_libyaml_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not parsers.has_fast_parser():
        pytest.skip("libyaml is not installed")
    # The pure-Python parser takes seconds per megabyte: a large file, even one with tabs or a syntax error
    # at its very end, must never reach it.
    monkeypatch.setattr(reader, "compose_reference", lambda text: pytest.fail("the slow parser ran"))
    path = _big(tmp_path, 'LAST: "never closed\n')
    [problem] = check_file(path).problems
    last_line = path.read_text(encoding="utf-8").count("\n")
    assert problem.line == last_line and "YAML syntax error" in problem.message
    path = _big(tmp_path, "  TABBED:\tyes  # a tab\t\n")
    assert check_file(path).problems == []


def test_a_megabyte_spec_stays_within_memory(tmp_path: Path) -> None:
    path = _big(tmp_path, 'LAST: "never closed\n')
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    check_file(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200


def test_an_integer_of_thousands_of_digits_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    digits = "9" * 5000
    path.write_text(HEAD.replace("max_runtime: 1h", f"max_runtime: {digits}") + f"  BIG: {digits}\n")
    problems = check_file(path).problems
    assert [p.path for p in problems] == ["$.run.max_runtime"]
    assert len(problems[0].message) < 200


@pytest.mark.parametrize(
    "overrides",
    [["extends=x"], ["extends=x", "run="], [".".join(["env"] * 500) + "=1"], ["run=", "offer="]],
)
def test_set_never_crashes_and_never_passes_silently(overrides: list[str]) -> None:
    from vastjob.errors import SpecError
    from vastjob.spec.load import load_job

    jobs = Path(__file__).parent.parent / "jobs"
    with pytest.raises(SpecError) as caught:
        load_job(jobs / "burgers512.yaml", overrides)
    assert caught.value.problems
