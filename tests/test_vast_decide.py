"""What plan says apply will do: create, up to date, or replace with the spec fields that changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.support.jobs import rented_doc as job_doc
from vastjob.cli import cli
from vastjob.emulator import Emulator


@pytest.fixture
def emu(cli_emu: Emulator) -> Emulator:
    """The emulator every command of these tests talks to."""
    return cli_emu


pytestmark = pytest.mark.emulator(n_offers=400, auto_advance=False)


def vj(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def spec_file(tmp_path: Path, **over: Any) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(job_doc(**over), sort_keys=False))
    return str(path)


def test_plan_says_create_then_up_to_date(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    first = vj("plan", spec)
    assert first.exit_code == 0 and "  action    create: the job has no instance yet" in first.stdout
    iid = json.loads(vj("apply", "--detach", spec, "--yes", "-o", "json").stdout)["instance_id"]
    again = json.loads(vj("plan", spec, "-o", "json").stdout)["action"]
    assert again == {
        "action": "up_to_date",
        "instances": [iid],
        "same_spec": True,
        "old_spec_hashes": [],
        "changes": None,
    }
    assert f"up to date: instance {iid}" in vj("plan", spec).stdout


def test_plan_and_apply_show_a_replace_with_the_changed_fields(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    first = json.loads(vj("apply", "--detach", spec, "--yes", "-o", "json").stdout)
    old_hash = first["label"].rsplit(":", 1)[1]
    changed = ["--set", "run.command=sleep 5", "--set", "offer.max_price_per_hour=0.9"]
    planned = vj("plan", spec, *changed)
    assert planned.exit_code == 0, planned.output
    assert f"action    replace instance {first['instance_id']} (spec {old_hash} -> this one" in planned.stdout
    assert '  changed   run.command: "sleep 30" -> "sleep 5"' in planned.stdout
    assert "  changed   offer.max_price_per_hour: 0.8 -> 0.9" in planned.stdout
    as_json = json.loads(vj("plan", spec, *changed, "-o", "json").stdout)["action"]
    assert [c["path"] for c in as_json["changes"]] == ["offer.max_price_per_hour", "run.command"]
    # apply shows the same plan before it asks; declining creates nothing.
    asked = vj("apply", "--detach", spec, *changed, "--replace", input="n\n")
    assert asked.exit_code == 1 and '  changed   run.command: "sleep 30" -> "sleep 5"' in asked.stdout
    assert [i.id for i in emu.instances.values() if not i.destroyed] == [first["instance_id"]]


def test_a_spec_applied_elsewhere_shows_its_changes_as_unknown(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_file(tmp_path)
    vj("apply", "--detach", spec, "--yes")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-machine"))
    planned = vj("plan", spec, "--set", "run.command=sleep 5")
    assert "changed   unknown: that spec was not applied from this machine" in planned.stdout
    assert (
        json.loads(vj("plan", spec, "--set", "run.command=sleep 5", "-o", "json").stdout)["action"]["changes"]
        is None
    )
