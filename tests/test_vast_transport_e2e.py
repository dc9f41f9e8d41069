"""The payload end to end: jobs applied to the emulator (every documented limit enforced) and run by real
bash, with real git and rclone: every example job, the capacity target in the chunked form, and a long
secret that reaches the job without touching the disk or any output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bench.fig_capacity import capacity_doc
from tests.support.wire import Recorder, fast_client
from vastjob.cli import cli
from vastjob.compile.transport import render_payload
from vastjob.emulator import Emulator
from vastjob.emulator.fleet import FIRST_INSTANCE_ID
from vastjob.errors import RenderError
from vastjob.spec.load import check_file, load_job
from vastjob.spec.model import JobSpec
from vastjob.vast.apply import Applier, ApplyOptions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# The single jobs (a sweep's runs are jobs of the same shape).
JOBS = sorted(
    p for p in (ROOT / "jobs").glob("*.yaml") if not p.name.startswith("_") and check_file(p).sweep is None
)
ACCOUNT_KEY = "account-key-0b7c11e2"
# The run script of the burgers jobs: it needs every secret and every dataset, and says what it saw.
RUN = """#!/bin/bash
set -euo pipefail
for s in B2_KEY_ID B2_APP_KEY WANDB_API_KEY; do test -n "${!s}"; done
ls data/pdebench | sort >out.txt
echo "trained with ${TRAIN_CONFIG:-no config}, token ${GITHUB_TOKEN:+set}"
"""
# pip must not install anything here: a shim in the container's bin folder records what it was asked.
PYTHON3 = '#!/bin/sh\nprintf \'%s\\n\' "$*" >>"$VASTJOB_ROOT/pip.log"\n'


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(
        sandbox=tmp_path / "sandbox", n_offers=1500, step_seconds=0.05, api_key=ACCOUNT_KEY, kill_delay=0.2
    ) as e:
        yield e


def _git(*args: str, cwd: Path) -> None:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True)


def _repo(tmp_path: Path, ref: str) -> str:
    work = tmp_path / "src"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "run_remote_scale.sh").write_text(RUN)
    _git("init", "-q", "-b", "main", ".", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "run", cwd=work)
    _git("branch", ref, cwd=work)
    _git("clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"), cwd=tmp_path)
    return (tmp_path / "origin.git").as_uri()


def local_overrides(path: Path, tmp_path: Path) -> list[str]:
    """`--set`s that point a job's repo, remotes and dataset sources at local copies; nothing else changes."""
    job = load_job(path)
    sets = [f"offer.max_price_per_hour={max(job.offer.max_price_per_hour, 8)}"]
    if job.repo is not None:
        sets.append(f"repo.url={_repo(tmp_path, job.repo.ref)}")
    sets += [f"remotes.{r.name}.type=local" for r in job.remotes]
    bucket = tmp_path / "bucket"
    for ds in job.datasets:
        remote, key = ds.source.split(":", 1)
        target = bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(range(256)) * (ds.min_bytes // 256 + 1 if ds.min_bytes else 4))
        sets.append(f"datasets.{ds.name}.source={remote}:{target}")
    return sets


def _apply(emu: Emulator, job: JobSpec, secrets: Mapping[str, str], recorder: Recorder | None = None) -> int:
    said: list[str] = []
    result = Applier(
        job,
        lambda: fast_client(emu.url, emu.api_key, recorder),
        options=ApplyOptions(yes=True, wait=True, poll_s=0.05),
        environ=dict(secrets),
        say=said.append,
    ).run()
    assert result.instance_id is not None, said
    return result.instance_id


def _ended(emu: Emulator, iid: int, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(emu.instances[iid].actual_status)
        if status in ("destroyed", "stopped"):
            return status
        time.sleep(0.1)
    log = emu.sandbox / str(iid) / ".emulator" / "container.log"
    raise AssertionError(f"instance {iid} did not end:\n{log.read_text() if log.exists() else ''}")


def _shim_python3(emu: Emulator, iid: int = FIRST_INSTANCE_ID) -> None:
    # The sandbox of the instance about to be created: the emulator adds its own shims beside this one.
    target = emu.sandbox / str(iid) / "bin" / "python3"
    target.parent.mkdir(parents=True)
    target.write_text(PYTHON3)
    target.chmod(0o755)


def _files_text(folder: Path) -> str:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return "\n".join(p.read_text(errors="replace") for p in files)


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.stem)
def test_every_example_job_applies_and_runs_in_the_emulator(
    emu: Emulator, tmp_path: Path, path: Path
) -> None:
    job = load_job(path, local_overrides(path, tmp_path))
    secrets = {name: f"{name.lower()}-value-5d1c" for name in job.secrets}
    _shim_python3(emu)
    iid = _apply(emu, job, secrets)
    assert _ended(emu, iid) == "destroyed"
    root = emu.sandbox / str(iid)
    log = (root / "var/log/vastjob/job.log").read_text()
    assert "job success" in log, log
    for value in secrets.values():
        assert value not in _files_text(root)
    if job.repo is not None:
        listed = (root / job.repo.dir.lstrip("/") / "out.txt").read_text().split()
        assert len(listed) >= len(job.datasets)
        assert ("token set" in log) == (job.repo.token_secret is not None)


def test_the_private_job_is_chunked_and_its_secrets_stay_out_of_every_output(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ROOT / "jobs/burgers512-private.yaml"
    job = load_job(path, local_overrides(path, tmp_path))
    secrets = {name: f"{name.lower()}-value-93a7" for name in job.secrets}
    recorder = Recorder()
    _shim_python3(emu)
    iid = _apply(emu, job, secrets, recorder)
    inst = emu.instances[iid]
    assert _ended(emu, iid) == "destroyed"
    assert inst.env["GITHUB_TOKEN"] == secrets["GITHUB_TOKEN"]
    (create,) = [s for s in recorder.sent if s.method == "PUT" and "/asks/" in s.url]
    body = json.loads(create.body)
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", ACCOUNT_KEY)
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    outputs = [
        CliRunner().invoke(cli, args).output
        for args in (["render", str(path), "--onstart"], ["plan", str(path)], ["logs", "burgers512-private"])
    ]
    assert "budget    onstart " in outputs[1] and "chunked form" in outputs[1]
    script_parts = "".join(v for k, v in body["env"].items() if k.startswith("VJ_P"))
    for value in secrets.values():
        for text in [body["onstart"], script_parts, *outputs, _files_text(emu.sandbox / str(iid))]:
            assert value not in text


def _service_account() -> str:
    lines = "\\n".join(hashlib.sha512(str(i).encode()).hexdigest() for i in range(24))
    doc = {
        "type": "service_account",
        "project_id": "p-1",
        "private_key": f"-----BEGIN KEY-----\\n{lines}\\n",
        "client_email": "job@p-1.example.invalid",
    }
    return json.dumps(doc, indent=2) + "\n"


def test_a_long_secret_reaches_the_job_in_memory_only(emu: Emulator, tmp_path: Path) -> None:
    secret = _service_account()
    assert len(secret) > 3000
    doc = {
        "version": 1,
        "name": "sa-job",
        "workdir": "/workspace/sa",
        "offer": {"gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20}, "max_price_per_hour": 2.0},
        "instance": {"image": "python:3.11-slim", "disk_gb": 20},
        "secrets": ["GCP_SA_JSON"],
        "run": {"command": 'printf %s "$GCP_SA_JSON" | sha256sum >seen && echo "sa ${#GCP_SA_JSON}"'},
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }
    spec = tmp_path / "sa.yaml"
    spec.write_text(yaml.safe_dump(doc))
    iid = _apply(emu, load_job(spec), {"GCP_SA_JSON": secret})
    inst = emu.instances[iid]
    assert _ended(emu, iid) == "destroyed"
    root = emu.sandbox / str(iid)
    assert (root / "workspace/sa/seen").read_text().split()[0] == hashlib.sha256(secret.encode()).hexdigest()
    assert f"sa {len(secret)}" in (root / "var/log/vastjob/job.log").read_text()
    assert "GCP_SA_JSON" not in inst.env and len([k for k in inst.env if k.startswith("VJ_S0_")]) >= 16
    everything = _files_text(root)
    parts = [v for k, v in inst.env.items() if k.startswith("VJ_S")]
    for line in secret.splitlines():
        assert line.strip() in ("{", "}") or line not in everything
    assert not any(part in everything for part in parts)


def test_the_capacity_target_runs_chunked_and_the_path_ends_at_the_env_total(tmp_path: Path) -> None:
    from bench.fig_capacity import TARGET_N, fits, largest, run_job, shape

    assert shape(TARGET_N) == (50, 20, 8000)
    payload = fits(TARGET_N, tmp_path / "bucket")
    assert payload is not None and payload.form == "chunked"
    ok, _seconds, state = run_job(TARGET_N, tmp_path / "target")
    assert ok, f"the target job ended {state}"
    top = largest(tmp_path / "bucket", top=400)
    assert top > TARGET_N and fits(top + 1, tmp_path / "bucket") is None
    with pytest.raises(RenderError, match="over Vast's limit of 32768"):
        render_payload(JobSpec.from_document(capacity_doc(*shape(top + 1), tmp_path), source="c.yaml"))
