"""A problem a parent wrote is reported once, at the parent's own line, naming the jobs that inherit it."""

from __future__ import annotations

from pathlib import Path

from vastjob.spec.batch import check_paths

BASE = (
    "version: 1\noffer:\n  max_price_per_hour: 1.5\ninstance:\n  image: x\n"
    "run:\n  command: go\n  max_runtime: forever\n"
)


def _jobs(tmp_path: Path, names: list[str]) -> None:
    (tmp_path / "_base.yaml").write_text(BASE, encoding="utf-8")
    for name in names:
        (tmp_path / f"{name}.yaml").write_text(f"extends: _base.yaml\nname: {name}\n", encoding="utf-8")


def test_a_parent_problem_is_reported_once_at_the_parent_line(tmp_path: Path) -> None:
    _jobs(tmp_path, ["a", "b", "c"])
    batch = check_paths([str(tmp_path)])
    [problem] = batch.problems
    assert (problem.file, problem.line, problem.col) == (str(tmp_path / "_base.yaml"), 8, 16)
    heirs = ", ".join(str(tmp_path / f"{n}.yaml") for n in "abc")
    assert problem.message.endswith(f"(inherited by {heirs})")


def test_a_child_problem_stays_in_the_child(tmp_path: Path) -> None:
    _jobs(tmp_path, ["a", "b"])
    (tmp_path / "b.yaml").write_text("extends: _base.yaml\nname: b\nrun: {max_runtime: 1h}\nenv: {A: true}\n")
    batch = check_paths([str(tmp_path)])
    assert [(Path(p.file).name, p.line) for p in batch.problems] == [("_base.yaml", 8), ("b.yaml", 4)]
    assert batch.problems[0].message.endswith(f"(inherited by {tmp_path / 'a.yaml'})")


def test_many_heirs_are_counted_after_five(tmp_path: Path) -> None:
    _jobs(tmp_path, [f"j{i}" for i in range(8)])
    [problem] = check_paths([str(tmp_path)]).problems
    assert problem.message.endswith("and 3 more)")
