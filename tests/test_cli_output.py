"""`-o text|json|yaml` on every command: YAML is the same document as the JSON, errors included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vastjob.cli import COMMANDS, cli
from vastjob.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "jobs/demo.yaml")


@pytest.fixture
def emu(cli_emu: Emulator) -> Emulator:
    """The emulator every command of these tests talks to."""
    return cli_emu


pytestmark = pytest.mark.emulator(n_offers=300, auto_advance=False)


@pytest.mark.parametrize(
    "args",
    [
        ["validate", str(ROOT / "jobs")],
        ["render", DEMO, "--graph"],
        ["offers", DEMO, "--limit", "3"],
        ["plan", DEMO],
        ["status"],
        ["validate", "missing.yaml"],
        ["stop", "ghost"],
    ],
)
def test_yaml_is_the_json_document(emu: Emulator, args: list[str]) -> None:
    as_json = CliRunner().invoke(cli, [*args, "-o", "json"])
    as_yaml = CliRunner().invoke(cli, [*args, "-o", "yaml"])
    assert as_yaml.exit_code == as_json.exit_code
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)


def test_every_command_but_schema_offers_the_three_formats() -> None:
    for name in COMMANDS:
        text = CliRunner().invoke(cli, [name, "--help"]).output
        if name == "schema":  # it prints the schema itself
            continue
        assert "[text|json|yaml]" in text, name
