"""The budget of the create body in apply and plan, against the emulator (which enforces every limit): the
chunked form is what gets sent when inline cannot carry the job, and what no form can carry is refused
before any request, saying by how much."""

from __future__ import annotations

import json
import secrets as pysecrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.jobs import make_job, rented_doc
from tests.support.wire import Recorder, fast_client
from vastjob.cli import cli
from vastjob.compile import render_script
from vastjob.compile.transport import carried
from vastjob.emulator import Emulator
from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec
from vastjob.vast.apply import Applier, ApplyOptions, ApplyResult

NOISE = pysecrets.token_hex(3000)  # 6000 hex digits: the inline bootstrap cannot carry them


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(sandbox=tmp_path / "sandbox", n_offers=400, auto_advance=False) as e:
        yield e


def _apply(emu: Emulator, job: JobSpec, env: dict[str, str], recorder: Recorder) -> ApplyResult:
    return Applier(
        job,
        lambda: fast_client(emu.url, emu.api_key, recorder),
        options=ApplyOptions(yes=True),
        environ=env,
        sleep=lambda s: None,
    ).run()


def test_a_job_too_big_for_the_onstart_is_sent_chunked_and_accepted(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path, run={"command": f"echo {NOISE}"}, secrets=["B2_KEY_ID"])
    recorder = Recorder()
    result = _apply(emu, job, {"B2_KEY_ID": "kid-0c4e"}, recorder)
    (inst,) = [i for i in emu.instances.values() if not i.destroyed]
    assert inst.id == result.instance_id
    assert inst.onstart is not None and inst.onstart.startswith("#!/bin/bash\n") and len(inst.onstart) < 1200
    assert inst.env["B2_KEY_ID"] == "kid-0c4e" and inst.env["VASTJOB_API_URL"] == emu.url
    parts = {k: v for k, v in inst.env.items() if k.startswith("VJ_P")}
    assert len(parts) > 16 and all(len(k) + len(v) <= 256 for k, v in parts.items())
    assert sum(len(k) + len(v) for k, v in inst.env.items()) <= 32768
    assert "kid-0c4e" not in inst.onstart and "kid-0c4e" not in "".join(parts.values())
    plan = result.plan
    assert plan is not None and plan.budget is not None and plan.budget.form == "chunked"
    assert plan.to_json()["budget"]["env"] == sum(len(k) + len(v) for k, v in inst.env.items())
    assert "  budget    onstart " in plan.render() and "(chunked form)" in plan.render()
    (create,) = [s for s in recorder.sent if s.method == "PUT" and "/asks/" in s.url]
    assert json.loads(create.body)["env"] == inst.env


def test_a_job_that_fits_keeps_the_inline_form(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path, secrets=["B2_KEY_ID"])
    result = _apply(emu, job, {"B2_KEY_ID": "kid-1"}, Recorder())
    (inst,) = [i for i in emu.instances.values() if not i.destroyed]
    assert inst.env == {"B2_KEY_ID": "kid-1", "VASTJOB_API_URL": emu.url}
    assert result.plan is not None and result.plan.budget is not None
    assert result.plan.budget.form == "inline"
    assert inst.onstart is not None and inst.onstart.startswith("#!/bin/sh\n")


def test_secrets_too_big_for_any_form_fail_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path, secrets=["HUGE_JSON"])
    recorder = Recorder()
    with pytest.raises(RenderError, match=r"over Vast's limit of 32768 by \d+.*largest: HUGE_JSON \d+"):
        _apply(emu, job, {"HUGE_JSON": "x" * 30000}, recorder)
    assert recorder.sent == [] and emu.instances == {}


def test_a_long_secret_alone_makes_the_chunked_form(emu: Emulator, tmp_path: Path) -> None:
    job = make_job(tmp_path, secrets=["SA_JSON"])
    value = json.dumps({"private_key": "k" * 2000, "client_email": "a@b.example.invalid"})
    _apply(emu, job, {"SA_JSON": value}, Recorder())
    (inst,) = [i for i in emu.instances.values() if not i.destroyed]
    assert "SA_JSON" not in inst.env and any(k.startswith("VJ_S0_") for k in inst.env)
    assert value not in (inst.onstart or "") and "export SA_JSON=" in (inst.onstart or "")


def test_render_onstart_shows_the_env_entries_by_name_and_size(tmp_path: Path) -> None:
    import yaml

    spec = tmp_path / "big.yaml"
    spec.write_text(yaml.safe_dump(rented_doc(run={"command": f"echo {NOISE}"}, secrets=["B2_KEY_ID"])))
    result = CliRunner().invoke(cli, ["render", str(spec), "--onstart"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("#!/bin/bash\n")
    assert "# chunked form: onstart " in result.stderr and "/4048, env " in result.stderr
    assert "(the script, " in result.stderr
    assert "# env B2_KEY_ID (secret, its size known at apply)" in result.stderr
    over = tmp_path / "over.yaml"
    over.write_text(yaml.safe_dump(rented_doc(run={"command": f"echo {pysecrets.token_hex(30000)}"})))
    refused = CliRunner().invoke(cli, ["render", str(over), "--onstart"])
    assert refused.exit_code == 1 and "over Vast's limit of 32768 by" in refused.output


def test_the_script_sent_is_the_script_rendered(tmp_path: Path) -> None:
    from vastjob.compile.transport import render_payload

    job = make_job(tmp_path, run={"command": f"echo {NOISE}"})
    assert carried(render_payload(job)) == render_script(job)


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ({"image": "registry.example.invalid/" + "i" * 1000, "disk_gb": 20}, r"the image is 1025 characters"),
        ({"image": "python:3.11-slim", "disk_gb": 4}, r"disk_gb is 4; Vast rents at least 8 GB"),
    ],
)
def test_the_instance_fields_are_checked_before_any_request(
    emu: Emulator, tmp_path: Path, instance: dict[str, object], message: str
) -> None:
    recorder = Recorder()
    with pytest.raises(RenderError, match=message):
        _apply(emu, make_job(tmp_path, instance=instance), {}, recorder)
    assert recorder.sent == [] and emu.instances == {}


def test_a_job_with_logs_is_told_its_price_and_the_budget_counted_it(emu: Emulator, tmp_path: Path) -> None:
    from vastjob.compile.transport import DPH_ENV, DPH_WIDTH, dph_text

    remotes = {"res": {"type": "alias", "options": {"remote": str(tmp_path / "remote")}}}
    job = make_job(tmp_path, remotes=remotes, logs="res:logs")
    result = _apply(emu, job, {}, Recorder())
    (inst,) = [i for i in emu.instances.values() if not i.destroyed]
    plan = result.plan
    assert plan is not None and plan.chosen is not None and plan.budget is not None
    assert inst.env[DPH_ENV] == dph_text(plan.chosen.price_per_hour)
    assert len(inst.env[DPH_ENV]) == DPH_WIDTH
    assert float(inst.env[DPH_ENV]) == round(plan.chosen.price_per_hour, 6)
    # The placeholder the budget counted has the width of the price sent: the budget is the body's.
    assert plan.to_json()["budget"]["env"] == sum(len(k) + len(v) for k, v in inst.env.items())
    # The price is the offer's, never the spec's: the spec hash is the one without logs' price.
    assert job.spec_hash in (inst.label or "") and DPH_ENV not in json.dumps(job.document)


def test_a_price_too_wide_to_write_is_left_out() -> None:
    from vastjob.compile.transport import dph_text

    assert dph_text(0.5) == "0.5000000000" and dph_text(99999.5) == "99999.500000"
    assert dph_text(1e6) is None and dph_text(-1.0) is None
