"""`vastjob init` and `vastjob schema --write` in a fresh git repo: a spec that validates, a schema its
modeline finds, the secrets listed, nothing ever overwritten."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from vastjob.cli import cli
from vastjob.spec.load import load_job
from vastjob.spec.schema import schema_text
from vastjob.starter import clone_url, job_name_for


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository named like a user's project."""
    folder = tmp_path / "My_Project"
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def test_init_in_an_empty_repo_writes_a_spec_that_validates_and_finds_its_schema(repo: Path) -> None:
    result = invoke("init", str(repo))
    assert result.exit_code == 0, result.output
    spec = repo / "jobs" / "my-project.yaml"
    made = [spec, repo / "jobs/.env.example", repo / "jobs/.gitignore", repo / "schemas/job.schema.json"]
    assert all(f"wrote {path}\n" in result.output for path in made)
    assert invoke("validate", str(repo / "jobs")).output == "ok: 1 job spec valid\n"
    modeline = re.match(r"# yaml-language-server: \$schema=(\S+)\n", spec.read_text())
    assert modeline is not None
    schema = (spec.parent / modeline[1]).resolve()
    assert schema == (repo / "schemas/job.schema.json").resolve() and schema.read_text() == schema_text()
    # An independent validator, reading the schema from where the modeline points.
    checker = shutil.which("check-jsonschema")
    assert checker is not None
    proc = subprocess.run([checker, "--schemafile", str(schema), str(spec)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_env_example_lists_every_secret_and_dotenv_stays_out_of_git(repo: Path) -> None:
    assert invoke("init", str(repo), "--name", "train").exit_code == 0
    names = list(load_job(repo / "jobs/train.yaml").secret_names)
    assert names
    example = (repo / "jobs/.env.example").read_text()
    assert [line.split("=")[0] for line in example.splitlines() if not line.startswith("#")] == names
    (repo / "jobs/.env").write_text("WANDB_API_KEY=x\n")
    ignored = subprocess.run(["git", "-C", str(repo), "check-ignore", "jobs/.env"], capture_output=True)
    assert ignored.returncode == 0


def test_init_never_overwrites(repo: Path) -> None:
    (repo / "jobs").mkdir()
    mine = repo / "jobs/train.yaml"
    mine.write_text(
        "# mine\nversion: 1\nname: train\noffer: {max_price_per_hour: 1}\n"
        "instance: {image: img}\nrun: {command: go}\n"
    )
    before = mine.read_bytes()
    first = invoke("init", str(repo), "--name", "train")
    assert first.exit_code == 0 and f"kept  {mine}" in first.output
    assert mine.read_bytes() == before
    assert (repo / "jobs/.env.example").read_text().count("=") == 0  # the kept spec needs no secret
    snapshot = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    second = invoke("init", str(repo), "--name", "train")
    assert second.exit_code == 0 and "wrote" not in second.output
    assert {p: p.read_bytes() for p in snapshot} == snapshot


def test_init_fills_repo_from_origin_without_its_token(repo: Path) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "https://me:tok-5ecret@example.com/me/proj.git"],
        check=True,
    )
    assert invoke("init", str(repo)).exit_code == 0
    text = (repo / "jobs/my-project.yaml").read_text()
    assert "tok-5ecret" not in text and "me:tok" not in text
    job = load_job(repo / "jobs/my-project.yaml")
    assert job.repo is not None and job.repo.url == "https://example.com/me/proj.git"


def test_init_refuses_a_bad_name_or_a_file_as_dir(tmp_path: Path) -> None:
    bad = invoke("init", str(tmp_path), "--name", "Not A Name")
    assert bad.exit_code == 1 and "job name" in bad.stderr
    (tmp_path / "file").write_text("x")
    assert invoke("init", str(tmp_path / "file")).exit_code != 0
    assert not (tmp_path / "jobs").exists()


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@example.com:me/proj.git", "https://example.com/me/proj.git"),
        ("ssh://git@example.com:22/me/proj.git", "https://example.com/me/proj.git"),
        ("https://example.com/me/proj", "https://example.com/me/proj"),
        ("/srv/git/proj.git", None),
    ],
)
def test_clone_url_from_remote(remote: str, url: str | None) -> None:
    assert clone_url(remote) == url


def test_job_name_from_folder(tmp_path: Path) -> None:
    assert job_name_for(tmp_path / "Burgers 512_run") == "burgers-512-run"
    assert job_name_for(tmp_path / "___") == "train"


def test_schema_write_creates_updates_and_refuses_foreign_files(tmp_path: Path) -> None:
    target = tmp_path / "schemas" / "job.schema.json"
    assert invoke("schema", "--write", str(target)).output == f"{target}: created\n"
    assert target.read_text() == schema_text()
    assert invoke("schema", "--write", str(target)).output == f"{target}: unchanged\n"
    older = json.loads(schema_text())
    older["description"] = "an older copy"
    target.write_text(json.dumps(older))
    assert invoke("schema", "--write", str(target)).output == f"{target}: updated\n"
    assert target.read_text() == schema_text()
    foreign = tmp_path / "package.json"
    foreign.write_text('{"name": "not a schema"}')
    refused = invoke("schema", "--write", str(foreign))
    assert refused.exit_code == 1 and "not overwritten" in refused.stderr
    assert foreign.read_text() == '{"name": "not a schema"}'


@pytest.mark.slow
def test_the_starter_runs_whole_with_apply_local(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("init", str(repo), "--name", "starter").exit_code == 0
    monkeypatch.setenv("WANDB_API_KEY", "not-a-real-key")
    result = invoke(
        "apply",
        str(repo / "jobs/starter.yaml"),
        "--local",
        "--yes",
        "--sandbox",
        str(repo.parent / "sb"),
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    local = json.loads(result.stdout)["local"]
    assert local["outcome"] == "succeeded" and local["final_state"] == "destroyed"
