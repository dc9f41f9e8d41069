"""The payload's two forms: inline jobs unchanged, the chunked onstart run by real bash (joined, checked,
started; a cut, reordered or corrupted payload refused), long secrets kept off the disk, and the budget."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.jobs import job_of
from vastjob.compile import render_bootstrap, render_script
from vastjob.compile.chunked import SCRIPT_PREFIX, join
from vastjob.compile.emit import secret_names
from vastjob.compile.transport import describe, make_payload, render_payload
from vastjob.errors import RenderError
from vastjob.spec.load import check_file, load_job
from vastjob.vast.limits import ENV_ENTRY_MAX, ENV_TOTAL_MAX, ONSTART_MAX, entry_size

ROOT = Path(__file__).resolve().parent.parent
SHELLCHECK = str(Path(sys.executable).parent / "shellcheck")
TITLE = "vastjob test big 000000000000"


def _noise(n: int, seed: int = 7) -> str:
    """`n` characters that gzip cannot shrink much, as a bash comment (so a script stays runnable)."""
    rng = random.Random(seed)
    return "# " + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n)) + "\n"


def _script(body: str, noise: int = 6000) -> str:
    return "#!/usr/bin/env bash\n" + _noise(noise) + body


def _service_account() -> str:
    """A 3 KB service-account JSON, with the quotes, slashes and escaped newlines such files have."""
    key = (
        "-----BEGIN PRIVATE KEY-----\\n"
        + "\\n".join(base64.b64encode(hashlib.sha512(str(i).encode()).digest()).decode() for i in range(32))
        + "\\n-----END PRIVATE KEY-----\\n"
    )
    doc = {
        "type": "service_account",
        "project_id": "p-123",
        "private_key_id": "ab" * 20,
        "private_key": key,
        "client_email": "runner@p-123.iam.example.invalid",
        "token_uri": "x/token",
    }
    return json.dumps(doc, indent=2) + "\n"


def _run(onstart: str, env: dict[str, str], root: Path) -> subprocess.CompletedProcess[str]:
    """Run an onstart as Vast does (bash /root/onstart.sh) with `env` as the container's environment."""
    target = root / "root" / "onstart.sh"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(onstart)
    full = {"PATH": os.environ["PATH"], "VASTJOB_ROOT": str(root), **env}
    return subprocess.run(
        ["bash", str(target)], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def _wait_for(path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


# The single jobs (a sweep's runs are jobs of the same shape).
JOBS = sorted(
    p for p in (ROOT / "jobs").glob("*.yaml") if not p.name.startswith("_") and check_file(p).sweep is None
)


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.stem)
def test_jobs_that_fit_inline_send_todays_bytes(path: Path) -> None:
    job = load_job(path)
    payload = render_payload(job)
    if payload.form == "chunked":
        with pytest.raises(RenderError):
            render_bootstrap(job)  # chunked only because inline cannot carry it
        return
    assert payload.onstart == render_bootstrap(job)
    assert dict(payload.env) == {"VASTJOB_API_URL": "https://console.vast.ai"}
    # With the secrets read, the env is today's: each secret as one entry, then the API URL.
    values = {n: f"value-of-{n}" for n in secret_names(job)}
    with_secrets = render_payload(job, secrets=values, api_url="http://127.0.0.1:9")
    assert with_secrets.onstart == payload.onstart and with_secrets.form == "inline"
    assert list(with_secrets.env.items()) == [*values.items(), ("VASTJOB_API_URL", "http://127.0.0.1:9")]


def test_a_large_script_travels_chunked_and_runs(tmp_path: Path) -> None:
    script = _script('echo "started with $VJ_P000-" >"$VASTJOB_ROOT/ran"\n')
    payload = make_payload(script, TITLE)
    again = make_payload(script, TITLE)
    assert payload.form == "chunked" and payload == again, "deterministic"
    assert len(payload.onstart) <= ONSTART_MAX and len(payload.onstart) < 1200
    assert all(entry_size(k, v) <= ENV_ENTRY_MAX for k, v in payload.env.items())
    assert sum(entry_size(k, v) for k, v in payload.env.items()) == payload.budget.env <= ENV_TOTAL_MAX
    assert len([k for k in payload.env if k.startswith(SCRIPT_PREFIX)]) > 16
    result = _run(payload.onstart, dict(payload.env), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root/vastjob/job.sh").read_text() == script
    # The chunks are unset before the script starts: it sees none of them.
    assert _wait_for(tmp_path / "ran") == "started with -\n"
    assert not (tmp_path / "root/vastjob/new").exists()


def test_the_chunked_onstart_passes_shellcheck(tmp_path: Path) -> None:
    payload = make_payload(_script("true\n"), TITLE, secrets={"SA_JSON": _service_account(), "SHORT": "s"})
    target = tmp_path / "onstart.sh"
    target.write_text(payload.onstart)
    result = subprocess.run(
        [SHELLCHECK, "--severity=style", str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def _tampered(env: dict[str, str], how: str) -> dict[str, str]:
    keys = sorted(k for k in env if k.startswith(SCRIPT_PREFIX))
    bad = dict(env)
    if how == "truncated":
        del bad[keys[-1]]
    elif how == "cut short":
        bad[keys[-1]] = bad[keys[-1]][:-8]
    elif how == "reordered":
        bad[keys[2]], bad[keys[3]] = env[keys[3]], env[keys[2]]
    elif how == "corrupted":
        value = bad[keys[1]]
        bad[keys[1]] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    return bad


@pytest.mark.parametrize("how", ["truncated", "cut short", "reordered", "corrupted"])
def test_a_damaged_payload_is_refused_and_the_job_not_started(tmp_path: Path, how: str) -> None:
    script = _script('echo started >"$VASTJOB_ROOT/ran"\n')
    payload = make_payload(script, TITLE)
    job_sh = tmp_path / "root/vastjob/job.sh"
    job_sh.parent.mkdir(parents=True)
    job_sh.write_text('echo an older script >"$VASTJOB_ROOT/ran"\n')  # from an earlier start
    result = _run(payload.onstart, _tampered(dict(payload.env), how), tmp_path)
    assert result.returncode == 1
    assert "the job was not started" in result.stderr
    time.sleep(0.3)
    assert not (tmp_path / "ran").exists(), "nothing was started"
    assert not (tmp_path / "root/vastjob/new").exists(), "no partial script is left"
    assert job_sh.read_text().startswith("echo an older script"), "the last good script is not replaced"


def test_a_long_secret_is_joined_in_memory_and_never_on_disk(tmp_path: Path) -> None:
    secret = _service_account()
    assert len(secret) > 3000
    # The script proves what it received without writing the value: its sha256 and length.
    body = (
        'printf %s "$SA_JSON" | sha256sum >"$VASTJOB_ROOT/seen"\n'
        'echo "${#SA_JSON} $SHORT" >>"$VASTJOB_ROOT/seen"\n'
    )
    script = _script(body, noise=0)
    payload = make_payload(script, TITLE, secrets={"SA_JSON": secret, "SHORT": "short-secret-9"})
    assert payload.form == "chunked", "a secret over one entry needs the chunked form"
    assert "SA_JSON" not in payload.env and payload.env["SHORT"] == "short-secret-9"
    parts = [e for e in payload.budget.entries if e.part_of == "SA_JSON"]
    assert len(parts) >= 16 and all(e.kind == "secret part" for e in parts)
    result = _run(payload.onstart, dict(payload.env), tmp_path)
    assert result.returncode == 0, result.stderr
    seen = _wait_for(tmp_path / "seen").splitlines()
    # bash strips nothing: the trailing newline of the JSON file arrives too.
    assert seen[0].split()[0] == hashlib.sha256(secret.encode()).hexdigest()
    assert seen[1] == f"{len(secret)} short-secret-9"
    line = secret.splitlines()[3]
    encoded = [v for k, v in payload.env.items() if k.startswith("VJ_S")]
    for f in tmp_path.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            assert line not in text and secret[:200] not in text, f
            assert not any(part in text for part in encoded), f"a secret's part is in {f}"
    assert line not in payload.onstart and "short-secret-9" not in payload.onstart
    assert "short-secret-9" not in join(dict(payload.env), SCRIPT_PREFIX)
    assert "short-secret-9" not in describe(payload) and secret[:40] not in repr(payload)


def test_a_damaged_secret_is_refused(tmp_path: Path) -> None:
    payload = make_payload(
        _script('echo started >"$VASTJOB_ROOT/ran"\n'), TITLE, secrets={"SA_JSON": _service_account()}
    )
    env = dict(payload.env)
    del env["VJ_S0_003"]
    result = _run(payload.onstart, env, tmp_path)
    assert result.returncode == 1 and "env entry VJ_S0_003 is missing" in result.stderr
    time.sleep(0.2)
    assert not (tmp_path / "ran").exists()


def test_only_what_no_form_can_carry_is_refused() -> None:
    # About 40 KB of incompressible commands cannot fit the env, even in parts.
    job = job_of(
        steps=[{"id": f"s{i}", "run": _noise(1000, seed=i).strip(), "needs": ["setup"]} for i in range(40)]
    )
    with pytest.raises(RenderError, match=r"over Vast's limit of 32768 by \d+; the script takes \d+") as err:
        render_payload(job)
    assert "shorten commands" in str(err.value)
    # Secrets count too, and the message names the largest.
    small = job_of()
    with pytest.raises(RenderError, match=r"the secrets \d+ \(largest: BIG \d+"):
        make_payload(render_script(small), TITLE, secrets={"BIG": "x" * 40000}, job="small")


def test_the_budget_summary_reads_like_the_plan() -> None:
    payload = render_payload(load_job(ROOT / "jobs/burgers512.yaml"))
    summary = payload.budget.summary()
    # Inline, the env is the API URL alone (38); chunked, the script's entries beside it.
    script = sum(len(k) + len(v) for k, v in payload.env.items() if k.startswith(SCRIPT_PREFIX))
    env = 38 + script
    shown = f"{env / 1000:.1f}k" if env >= 1000 else str(env)
    assert summary.startswith(f"onstart {len(payload.onstart)}/4048, env {shown}/32.8k")
    assert "(+3 secrets not read)" in summary
    text = describe(payload)
    assert "# env B2_APP_KEY (secret, its size known at apply)" in text
