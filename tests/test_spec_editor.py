"""Editors and vastjob judge specs alike: the real yaml-language-server, driven over LSP with the published
schema, finds nothing in a valid spec and flags each schema-level error on the line vastjob reports it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.support.lsp import ROOT, YamlServer, server_problem
from vastjob.spec.load import check_file
from vastjob.spec.schema import load_schema

CASES = ROOT / "tests" / "cases"
# Cases whose problems the schema alone can see (no extends, no cross-references, no YAML-level refusal).
SCHEMA_LEVEL = [
    "bad-duration-run",
    "bad-duration-step",
    "bad-env-name",
    "bad-name-uppercase",
    "bad-region",
    "bad-secret-name",
    "bad-sha256",
    "bad-step-id",
    "duplicate-list-items",
    "duration-overflow",
    "env-boolean",
    "env-nested-map",
    "env-null",
    "extends-wrong-type",
    "fraction-where-whole",
    "many-errors",
    "missing-required",
    "misspelt-required-key",
    "name-too-long",
    "order-unknown-key",
    "pattern-trailing-newline",
    "price-too-high",
    "price-zero",
    "relative-workdir",
    "reliability-over-one",
    "shutdown-typo",
    "top-level-list",
    "unknown-dataset-key",
    "unknown-gpu-key",
    "unknown-instance-key",
    "unknown-offer-key",
    "unknown-remote-key",
    "unknown-repo-key",
    "unknown-run-key",
    "unknown-setup-key",
    "unknown-shutdown-key",
    "unknown-step-key",
    "unknown-top-key",
    "version-two",
    "wrong-type-apt",
    "wrong-type-count",
    "wrong-type-pip-entry",
    "wrong-type-price",
    "yes-is-not-a-boolean",
    "zero-duration",
]
# A child may override any part of a block, write numbers where text is kept as written, and remove a key.
CHILDREN = {
    "gpu-count-only.yaml": "extends: _base.yaml\nname: two-gpus\noffer:\n  gpu:\n    count: 2\n",
    "runtime-only.yaml": "extends: _base.yaml\nname: longer\nrun:\n  max_runtime: 2h\n",
    "numbers-as-text.yaml": (
        "extends: _base.yaml\nname: texts\noffer:\n  min_cuda: 12.4\nrepo:\n  ref: 0755\n"
        "env:\n  RESET_CACHE: 1\n  TRAIN_STAGE: ~\n"
    ),
    "new-dataset-field.yaml": (
        "extends: _base.yaml\nname: data\ndatasets:\n  burgers1d_full_v1:\n    retries: 5\n"
    ),
}


@pytest.fixture(scope="module")
def server() -> Iterator[YamlServer]:
    why = server_problem()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the editor test must run in CI: {why}")
        pytest.skip(why)
    with YamlServer() as running:
        yield running


def _valid_specs() -> list[Path]:
    return sorted((ROOT / "jobs").glob("*.yaml")) + sorted(CASES.glob("valid/*/*.yaml"))


@pytest.mark.parametrize("path", _valid_specs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_editor_accepts_every_valid_spec(server: YamlServer, path: Path) -> None:
    assert server.diagnostics(path) == []


@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_a_child_that_overrides_part_of_a_block_is_valid_to_both(
    server: YamlServer, name: str, tmp_path: Path
) -> None:
    (tmp_path / "_base.yaml").write_text((ROOT / "jobs" / "_base.yaml").read_text(encoding="utf-8"))
    path = tmp_path / name
    path.write_text(CHILDREN[name], encoding="utf-8")
    assert check_file(path).problems == []
    assert server.diagnostics(path) == []


@pytest.mark.parametrize("name", SCHEMA_LEVEL)
def test_the_editor_flags_each_schema_error_on_vastjob_line(
    server: YamlServer, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES / "invalid" / name)
    problems = check_file("job.yaml").problems
    assert problems
    flagged = {d.line for d in server.diagnostics(Path("job.yaml"))}
    assert [str(p) for p in problems if p.line not in flagged] == []


def test_every_pattern_has_words_for_people() -> None:
    def patterns(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "pattern" in node:
                yield node
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    found = list(patterns(load_schema()))
    assert found
    for node in found:
        assert node.get("patternErrorMessage", "").startswith("Not "), node
        assert node.get("markdownDescription"), node


def _snippets(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any], Any]]:
    if isinstance(node, dict):
        for snippet in node.get("defaultSnippets", []):
            yield where, node, snippet["body"]
        for key, value in node.items():
            yield from _snippets(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _snippets(value, f"{where}/{i}")


def _filled(body: Any) -> Any:
    """A snippet as it reads once each placeholder keeps its default text."""
    if isinstance(body, dict):
        return {_filled(k): _filled(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_filled(v) for v in body]
    return re.sub(r"\$\{\d+:([^}]*)\}", r"\1", body) if isinstance(body, str) else body


def test_every_snippet_inserts_valid_text() -> None:
    schema = load_schema()
    found = list(_snippets(schema))
    assert len(found) >= 5
    for where, node, body in found:
        sub = {**{k: v for k, v in node.items() if k != "defaultSnippets"}, "$defs": schema["$defs"]}
        # A whole block: what a file without extends asks of it (its required keys) is asked here too.
        errors = [e.message for e in Draft202012Validator(sub).iter_errors(_filled(body))]
        assert errors == [], where
