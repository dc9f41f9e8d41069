"""Spec cases as folders: valid ones resolve to a pinned document, invalid ones to pinned errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from vastjob.spec.load import Reader, check_file

CASES = Path(__file__).parent / "cases"


def _cases(kind: str) -> list[str]:
    return sorted(p.name for p in (CASES / kind).iterdir() if p.is_dir())


def _overrides(folder: Path) -> list[str]:
    args = folder / "set.txt"
    return args.read_text(encoding="utf-8").splitlines() if args.exists() else []


def _check(folder: Path, monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> tuple[list[str], object]:
    # Run from inside the case so that file names in messages are the case's own, stable across machines.
    monkeypatch.chdir(folder)
    checked = check_file("job.yaml", _overrides(folder), reader=Reader(fast=fast))
    return [str(p) for p in checked.problems], checked.document


def test_there_are_enough_invalid_cases() -> None:
    assert len(_cases("invalid")) >= 30


@pytest.mark.parametrize("name", _cases("invalid"))
def test_invalid_case(name: str, monkeypatch: pytest.MonkeyPatch, snapshot: SnapshotAssertion) -> None:
    problems, _ = _check(CASES / "invalid" / name, monkeypatch, fast=True)
    assert problems, "an invalid case must report at least one problem"
    # The libyaml fast path and the ruamel.yaml reference path must agree to the character.
    assert _check(CASES / "invalid" / name, monkeypatch, fast=False)[0] == problems
    assert "\n".join(problems) == snapshot


@pytest.mark.parametrize("name", _cases("valid"))
def test_valid_case(name: str, monkeypatch: pytest.MonkeyPatch, snapshot: SnapshotAssertion) -> None:
    problems, document = _check(CASES / "valid" / name, monkeypatch, fast=True)
    assert problems == []
    assert _check(CASES / "valid" / name, monkeypatch, fast=False) == (problems, document)
    assert json.dumps(document, indent=2) == snapshot
