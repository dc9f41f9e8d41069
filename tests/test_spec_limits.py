"""Reserved variable names, bounded durations and prices, GPU names, and the warnings beside the problems."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vastjob.spec.batch import check_paths
from vastjob.spec.durations import MAX_DURATION_S, duration_seconds
from vastjob.spec.gpus import GPUS, same_model, slip_threshold
from vastjob.spec.load import check_file
from vastjob.spec.reserved import BASH_READONLY, BASH_SPECIAL, reserved_table, why_reserved

JOB = """\
version: 1
name: limits
offer:
  gpu:
    names: [{names}]
    count: {count}
  max_price_per_hour: {price}
instance:
  image: python:3.11-slim
run:
  command: echo hi
{runtime}"""


def _job(
    tmp_path: Path,
    *,
    names: str = "RTX 4090",
    count: int = 1,
    price: str = "1.5",
    runtime: str = "  max_runtime: 1h\n",
) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(names=names, count=count, price=price, runtime=runtime), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(BASH_READONLY))
def test_bash_really_refuses_to_assign_each_readonly_name(name: str) -> None:
    # The list is checked against bash itself: assigning any of these ends the script at once.
    result = subprocess.run(["bash", "-c", f"{name}=1; echo reached"], capture_output=True, text=True)
    assert "reached" not in result.stdout
    assert why_reserved(name) is not None


def test_reserved_names_cover_the_runtime_and_prefixes() -> None:
    for name in (
        "CONTAINER_ID",
        "CONTAINER_API_KEY",
        "VJ_ANYTHING",
        "VASTJOB_ROOT",
        "GIT_CONFIG_KEY_3",
        "RCLONE_CONFIG_B2_ACCOUNT",
        "IFS",
        "BASH_ENV",
        "SHELLOPTS",
        "BASHOPTS",
        *BASH_SPECIAL,
    ):
        assert why_reserved(name), name
    for name in ("HOME", "LD_LIBRARY_PATH", "PIP_INDEX_URL", "GIT_TOKEN", "WANDB_API_KEY", "PATH"):
        assert why_reserved(name) is None, name
    listed = [n for n, _ in reserved_table()]
    assert "UID" in listed and "VJ_*" in listed and len(listed) == len(set(listed))


def test_the_docs_list_every_reserved_name() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "spec.md").read_text(encoding="utf-8")
    missing = [n for n, _ in reserved_table() if f"`{n}`" not in docs]
    assert missing == []


def test_a_reserved_secret_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _job(tmp_path, runtime="  max_runtime: 1h\nsecrets: [OK_NAME, EUID]\n")
    [problem] = check_file(path).problems
    assert (problem.line, problem.path) == (13, "$.secrets[1]")
    assert "read-only" in problem.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1h30m", 5400),
        ("30d", MAX_DURATION_S),
        ("0001s", 1),
        ("31d", MAX_DURATION_S + 1),
        ("9" * 5000 + "d", MAX_DURATION_S + 1),
        ("0" * 5000 + "5s", 5),
        ("soon", None),
        ("", None),
    ],
)
def test_duration_seconds_is_bounded_and_cheap(text: str, seconds: int | None) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("value", ["18446744073709551616", "99999999999999999999999d", "9" * 5000, "2592001"])
def test_a_duration_past_a_month_is_refused(tmp_path: Path, value: str) -> None:
    problems = check_file(_job(tmp_path, runtime=f"  max_runtime: {value}\n")).problems
    assert [p.path for p in problems] == ["$.run.max_runtime"]


def test_thirty_days_exactly_is_allowed(tmp_path: Path) -> None:
    checked = check_file(_job(tmp_path, runtime="  max_runtime: 30d\n"))
    assert checked.problems == []
    assert checked.job is not None and checked.job.run.max_runtime_s == MAX_DURATION_S


def test_a_price_cap_that_looks_like_a_slip_is_a_warning(tmp_path: Path) -> None:
    checked = check_file(_job(tmp_path, price="250"))
    assert checked.problems == [] and checked.job is not None
    [warning] = checked.warnings
    assert warning.path == "$.offer.max_price_per_hour" and "decimal point" in warning.message


def test_the_slip_threshold_grows_with_the_gpu_count(tmp_path: Path) -> None:
    dearest = max(g.typical_price for g in GPUS.values())
    assert slip_threshold(8) == 8 * slip_threshold(1) == 80 * dearest
    assert check_file(_job(tmp_path, price="40", count=8)).warnings == []
    assert check_file(_job(tmp_path, price="2.5")).warnings == []


def test_a_run_without_max_runtime_is_valid_with_a_warning(tmp_path: Path) -> None:
    checked = check_file(_job(tmp_path, runtime=""))
    assert checked.problems == [] and checked.job is not None
    assert [w.path for w in checked.warnings] == ["$.run"]
    assert "max_runtime" in checked.warnings[0].message


def test_a_gpu_spelt_differently_is_an_error_and_an_unknown_one_a_warning(tmp_path: Path) -> None:
    assert same_model("rtx4090") == "RTX 4090" and same_model("RTX 4090") is None
    checked = check_file(_job(tmp_path, names="RTX4090, RTX 5060"))
    [problem] = checked.problems
    assert "'RTX 4090'" in problem.message and problem.path == "$.offer.gpu.names[0]"
    checked = check_file(_job(tmp_path, names="RTX 5060"))
    assert checked.problems == [] and checked.job is not None
    [warning] = checked.warnings
    assert "did you mean" in warning.message and "newer" in warning.message


def test_a_batch_carries_the_warnings_of_its_jobs(tmp_path: Path) -> None:
    _job(tmp_path, names="RTX 5060")
    batch = check_paths([str(tmp_path)])
    assert batch.ok
    assert [w.path for w in batch.warnings] == ["$.offer.gpu.names[0]"]
