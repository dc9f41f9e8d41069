"""Sweeps as specs: the matrix expands as GitHub Actions' does, each run is an ordinary job with a stable
name within the name rule, and every problem is located at the matrix entry that produced it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from vastjob.cli import cli
from vastjob.errors import SpecError
from vastjob.spec.load import check_file, load_job, load_sweep
from vastjob.spec.model import JOB_NAME

ROOT = Path(__file__).resolve().parent.parent
BASE = """\
version: 1
name: {name}
offer:
  gpu: {{names: [RTX 4090], count: 1}}
  max_price_per_hour: 1.0
instance: {{image: python:3.11-slim, disk_gb: 20}}
run:
  command: echo "$STAGE"
  max_runtime: 10m
"""


def write(tmp_path: Path, body: str, name: str = "sw") -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(BASE.format(name=name) + body, encoding="utf-8")
    return path


def values(path: Path) -> list[dict[str, object]]:
    return [dict(r.values) for r in load_sweep(path).runs]


def test_axes_expand_as_a_product_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "matrix:\n  env.STAGE: [a, b]\n  offer.gpu.count: [1, 2]\nsweep: {budget: 10}\n")
    sweep = load_sweep(path)
    assert [dict(r.values) for r in sweep.runs] == [
        {"env.STAGE": "a", "offer.gpu.count": 1},
        {"env.STAGE": "a", "offer.gpu.count": 2},
        {"env.STAGE": "b", "offer.gpu.count": 1},
        {"env.STAGE": "b", "offer.gpu.count": 2},
    ]
    assert [r.name for r in sweep.runs] == ["sw-a-1", "sw-a-2", "sw-b-1", "sw-b-2"]
    assert [r.job.offer.gpu.count for r in sweep.runs] == [1, 2, 1, 2]
    assert dict(sweep.runs[2].job.env) == {"STAGE": "b"}
    assert sweep.policy.budget == 10 and sweep.policy.max_parallel == 1
    assert sweep.policy.on_failure == "continue"


def test_exclude_then_include_as_github_actions_does(tmp_path: Path) -> None:
    body = (
        "matrix:\n  env.STAGE: [a, b]\n  env.SIZE: [s, m]\n"
        "  exclude:\n    - {env.STAGE: b, env.SIZE: m}\n"
        "  include:\n"
        "    - {env.SIZE: s, env.EXTRA: x}\n"  # added to each combination with SIZE s
        "    - {env.STAGE: c, env.SIZE: l}\n"  # changes an axis value of every one: a run of its own
        "sweep: {budget: 10}\n"
    )
    assert values(write(tmp_path, body)) == [
        {"env.STAGE": "a", "env.SIZE": "s", "env.EXTRA": "x"},
        {"env.STAGE": "a", "env.SIZE": "m"},
        {"env.STAGE": "b", "env.SIZE": "s", "env.EXTRA": "x"},
        {"env.STAGE": "c", "env.SIZE": "l"},
    ]


def test_a_run_s_spec_hash_depends_on_its_own_values_only(tmp_path: Path) -> None:
    one = load_sweep(write(tmp_path, "matrix:\n  env.STAGE: [a, b]\nsweep: {budget: 10}\n"))
    more = load_sweep(
        write(tmp_path, "matrix:\n  env.STAGE: [a, b, c]\nsweep: {budget: 99, max_parallel: 3}\n")
    )
    assert [(r.name, r.job.label) for r in one.runs] == [(r.name, r.job.label) for r in more.runs[:2]]


def test_long_names_are_cut_with_a_digest_and_stay_unique(tmp_path: Path) -> None:
    long = "configs/" + "x" * 60 + ".yaml"
    body = f"matrix:\n  env.STAGE: ['{long}', '{long[:-6]}y.yaml', 'a b', 'a-b']\nsweep: {{budget: 10}}\n"
    path = write(tmp_path, body, name="a" * 44)
    names = [r.name for r in load_sweep(path).runs]
    assert len(set(names)) == 4
    assert all(JOB_NAME.fullmatch(n) and len(n) <= 48 and n.startswith("a" * 30) for n in names)
    assert names == [r.name for r in load_sweep(path).runs]  # deterministic


def test_the_seed_launches_are_one_sweep_whose_runs_are_the_single_jobs() -> None:
    sweep = load_sweep(ROOT / "jobs" / "burgers-sweep.yaml")
    singles = ["burgers512", "burgers512-resume", "burgers512-operator", "burgers32-diffusion"]
    runs = {r.name: {k: v for k, v in r.job.document.items() if k != "name"} for r in sweep.runs}
    for single in singles:
        doc = {k: v for k, v in load_job(ROOT / "jobs" / f"{single}.yaml").document.items() if k != "name"}
        assert doc in runs.values(), single
    assert len(runs) == 4 and sweep.policy.max_parallel == 2


def test_matrix_errors_are_located_at_the_entry_that_made_them(tmp_path: Path) -> None:
    body = (
        "matrix:\n"
        "  offer.gpu.count: [1, two]\n"
        "  run.max_runtime: [1h, forever]\n"
        "  env.STAGE: [a, a]\n"
        "  exclude:\n"
        "    - {env.STAGEE: a}\n"
        "sweep: {budget: 10, max_parallel: 0}\n"
    )
    path = write(tmp_path, body)
    shown = [str(p) for p in check_file(path).problems]
    f = str(path)
    assert shown == [
        f'{f}:13:18: $.matrix["env.STAGE"][1]: "a" is listed twice',
        f'{f}:15:8: $.matrix.exclude[0]["env.STAGEE"]: env.STAGEE is not an axis, so it matches nothing; '
        "did you mean env.STAGE?",
        f"{f}:16:35: $.sweep.max_parallel: 0 is less than the minimum of 1",
    ]
    path = write(
        tmp_path, body.replace("[a, a]", "[a]").replace("    - {env.STAGEE: a}\n", "    - {env.STAGE: b}\n")
    )
    shown = [str(p) for p in check_file(path).problems]
    assert shown == [
        f'{f}:11:24: $.offer.gpu.count: expected an integer, got "two" (runs sw-two-1h-a, sw-two-forever-a)',
        f'{f}:12:25: $.run.max_runtime: "forever" is not a duration such as 90s, 30m, 12h or 1h30m '
        "(runs sw-1-forever-a, sw-two-forever-a)",
        f"{f}:16:35: $.sweep.max_parallel: 0 is less than the minimum of 1",
    ]


def test_a_sweep_needs_a_budget_and_runs_with_max_runtime(tmp_path: Path) -> None:
    path = write(tmp_path, "matrix:\n  env.STAGE: [a]\n")
    assert [p.message for p in check_file(path).problems] == [
        "a sweep needs sweep: the policy of its runs (sweep.budget)"
    ]
    path = write(tmp_path, "matrix:\n  run.max_runtime: [~]\nsweep: {}\n")
    messages = [p.message for p in check_file(path).problems]
    assert "null is no value for a run; remove it" in messages
    assert "missing required key 'budget'" in messages
    text = (BASE.format(name="sw") + "matrix:\n  env.STAGE: [a]\nsweep: {budget: 5}\n").replace(
        "  max_runtime: 10m\n", ""
    )
    path.write_text(text, encoding="utf-8")
    assert [p.message for p in check_file(path).problems] == [
        "a sweep's runs need run.max_runtime: without it a run has no worst case for the budget"
    ]


def test_a_sweep_is_not_a_single_job(tmp_path: Path) -> None:
    path = write(tmp_path, "matrix:\n  env.STAGE: [a, b]\nsweep: {budget: 10}\n")
    with pytest.raises(SpecError, match="this spec is a sweep of 2 runs"):
        load_job(path)


def test_render_shows_every_run_or_one(tmp_path: Path) -> None:
    path = write(tmp_path, "matrix:\n  env.STAGE: [a, b]\nsweep: {budget: 10}\n")
    every = CliRunner().invoke(cli, ["render", str(path), "--graph"])
    assert every.exit_code == 0, every.output
    assert "# run sw-a (env.STAGE=a)" in every.stdout and "# run sw-b (env.STAGE=b)" in every.stdout
    one = CliRunner().invoke(cli, ["render", str(path), "--run", "sw-b"])
    assert one.exit_code == 0, one.output
    assert "STAGE=b" in one.stdout and "# run" not in one.stdout
    wrong = CliRunner().invoke(cli, ["render", str(path), "--run", "sw-c"])
    assert wrong.exit_code == 1 and "sweep sw has no run 'sw-c'" in wrong.stderr


def test_a_run_named_like_a_job_checked_beside_it_is_an_error(tmp_path: Path) -> None:
    from vastjob.spec.batch import check_paths

    write(tmp_path, "matrix:\n  env.STAGE: [a, b]\nsweep: {budget: 10}\n")
    (tmp_path / "single.yaml").write_text(BASE.format(name="sw-b"), encoding="utf-8")
    problems = [str(p) for p in check_paths([str(tmp_path)]).problems]
    assert problems == [
        f"{tmp_path / 'sweep.yaml'}:0:0: $.matrix: run 'sw-b' of this sweep is also the name of a job in "
        f"{tmp_path / 'single.yaml'}"
    ]
