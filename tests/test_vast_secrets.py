"""Secrets from the environment or the `.env` next to the spec; labels; pinning a branch with real git."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from vastjob.errors import UserError
from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.pin import resolve_commit, run_git
from vastjob.vast.secrets import dotenv_paths, find_secrets, parse_dotenv, read_secrets


def make_job(tmp_path: Path, **over: Any) -> JobSpec:
    doc: dict[str, Any] = {
        "version": 1,
        "name": "demo",
        "offer": {"gpu": {"names": ["RTX 4090"]}, "max_price_per_hour": 1},
        "instance": {"image": "python:3.11-slim"},
        "run": {"command": "true"},
        "secrets": ["B2_KEY_ID", "WANDB_API_KEY"],
        "repo": {"url": "https://example.invalid/r.git", "ref": "main", "token_secret": "GIT_TOKEN"},
        "remotes": {"b2": {"type": "b2", "secrets": {"account": "B2_KEY_ID", "key": "B2_APP_KEY"}}},
    }
    doc.update(over)
    spec = tmp_path / "job.yaml"
    spec.write_text("# placeholder\n")
    return JobSpec.from_document(doc, source=str(spec))


def test_required_names_gathers_every_place_once(tmp_path: Path) -> None:
    assert list(make_job(tmp_path).secret_names) == ["B2_KEY_ID", "WANDB_API_KEY", "GIT_TOKEN", "B2_APP_KEY"]


def test_every_missing_name_is_listed_and_no_value_shown(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        read_secrets(make_job(tmp_path), {"B2_KEY_ID": "kid-value-123"})
    text = str(info.value)
    for name in ("WANDB_API_KEY", "GIT_TOKEN", "B2_APP_KEY"):
        assert name in text
    assert "B2_KEY_ID" not in text and "kid-value-123" not in text


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nexport B2_KEY_ID=from-file\nWANDB_API_KEY='quoted value'\n"
        'GIT_TOKEN="tok"\nB2_APP_KEY=app # trailing comment\n\nnot a line\n'
    )
    found = read_secrets(make_job(tmp_path), {"B2_KEY_ID": "from-env"})
    assert dict(found.values) == {
        "B2_KEY_ID": "from-env",
        "WANDB_API_KEY": "quoted value",
        "GIT_TOKEN": "tok",
        "B2_APP_KEY": "app",
    }
    assert found.origins["B2_KEY_ID"] == "environment"
    assert found.origins["GIT_TOKEN"] == str(tmp_path / ".env")
    assert "from-env" not in repr(found)


def test_parse_dotenv_keeps_equals_in_values() -> None:
    assert parse_dotenv("A=b=c\n B = d \n") == {"A": "b=c", "B": "d"}


def test_labels_round_trip_and_filter() -> None:
    label = str(labels.Label("burgers512", "0123456789ab"))
    assert label == "vastjob:burgers512:0123456789ab"
    parsed = labels.parse_label(label)
    assert parsed is not None and (parsed.name, parsed.spec_hash) == ("burgers512", "0123456789ab")
    assert labels.parse_label("my own box") is None
    assert labels.parse_label("vastjob:Bad Name:1") is None
    insts: list[dict[str, Any]] = [
        {"id": 3, "label": "vastjob:a:1"},
        {"id": 1, "label": "vastjob:a:2"},
        {"id": 2, "label": "vastjob:ab:1"},
        {"id": 4, "label": None},
    ]
    assert [i["id"] for i in labels.of_job(insts, "a")] == [1, 3]
    assert [i["id"] for i in labels.of_job(insts, None)] == [1, 2, 3]
    with pytest.raises(UserError):
        labels.check_name("Not/A name")


@pytest.fixture
def bare_repo(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A bare repo with a branch `feature/x`, a `main`, and an annotated tag `v1` on an older commit."""
    work = tmp_path / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    subprocess.run([*git, "-C", str(work), "tag", "-a", "v1", "-m", "v1"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "--allow-empty", "-m", "two"], check=True)
    subprocess.run([*git, "-C", str(work), "branch", "feature/x"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "r.git")], check=True)

    def rev(name: str) -> str:
        return subprocess.run(
            ["git", "-C", str(work), "rev-parse", name], capture_output=True, text=True, check=True
        ).stdout.strip()

    return f"file://{tmp_path / 'r.git'}", {"main": rev("main"), "v1": rev("v1^{commit}")}


def test_pin_resolves_branches_and_peeled_tags_with_real_git(
    tmp_path: Path, bare_repo: tuple[str, dict[str, str]]
) -> None:
    url, revs = bare_repo
    job = make_job(tmp_path, repo={"url": url, "ref": "feature/x"})
    assert job.repo is not None
    assert resolve_commit(job.repo) == revs["main"]
    tagged = make_job(tmp_path, repo={"url": url, "ref": "v1"}).repo
    assert tagged is not None and resolve_commit(tagged) == revs["v1"]
    missing = make_job(tmp_path, repo={"url": url, "ref": "nope"}).repo
    assert missing is not None
    with pytest.raises(UserError, match="not a branch or tag"):
        resolve_commit(missing)


def test_pin_sends_the_token_in_the_environment_never_argv(
    tmp_path: Path, bare_repo: tuple[str, dict[str, str]]
) -> None:
    url, revs = bare_repo
    seen: list[tuple[list[str], dict[str, str]]] = []

    def recording(argv: Sequence[str], env: Mapping[str, str]) -> str:
        seen.append((list(argv), dict(env)))
        return run_git(argv, env)

    repo = make_job(tmp_path, repo={"url": url, "ref": "main", "token_secret": "GIT_TOKEN"}).repo
    assert repo is not None
    assert resolve_commit(repo, token="tok-secret-999", runner=recording) == revs["main"]
    ((argv, env),) = seen
    assert not any("tok-secret-999" in a for a in argv)
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert "tok-secret-999" not in env["GIT_CONFIG_VALUE_0"]  # base64 in a header, not plain text


def test_a_pinned_commit_or_a_full_sha_needs_no_git(tmp_path: Path) -> None:
    def refuse(argv: Sequence[str], env: Mapping[str, str]) -> str:
        raise AssertionError("git must not run")

    sha = "a" * 40
    pinned = make_job(tmp_path, repo={"url": "x", "ref": "main", "commit": sha}).repo
    bare_sha = make_job(tmp_path, repo={"url": "x", "ref": sha}).repo
    assert pinned is not None and bare_sha is not None
    assert resolve_commit(pinned, runner=refuse) == sha
    assert resolve_commit(bare_sha, runner=refuse) == sha


PEM = "-----BEGIN EXAMPLE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAABG5vbmU=\n-----END EXAMPLE KEY-----"


def test_a_multi_line_quoted_value_is_kept_whole(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f'B2_KEY_ID="{PEM}"\nWANDB_API_KEY=w\nGIT_TOKEN=g\nB2_APP_KEY=a\n')
    assert read_secrets(make_job(tmp_path), {}).values["B2_KEY_ID"] == PEM


def test_set_but_empty_is_a_value_and_a_bare_name_is_not(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WANDB_API_KEY=\nGIT_TOKEN\nB2_APP_KEY=''\n")
    found, missing = find_secrets(make_job(tmp_path), {"B2_KEY_ID": ""})
    assert dict(found.values) == {"B2_KEY_ID": "", "WANDB_API_KEY": "", "B2_APP_KEY": ""}
    assert found.origins["B2_KEY_ID"] == "environment"
    assert missing == ["GIT_TOKEN"]


def test_the_repo_root_dotenv_is_read_after_the_one_next_to_the_job(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (tmp_path / ".env").write_text("B2_KEY_ID=from-root\nWANDB_API_KEY=root-w\n")
    (jobs / ".env").write_text("B2_KEY_ID=from-jobs\n")
    job = make_job(jobs)
    assert dotenv_paths(job) == [jobs / ".env", tmp_path / ".env"]
    found, missing = find_secrets(job, {"GIT_TOKEN": "t"})
    assert found.values["B2_KEY_ID"] == "from-jobs" and found.origins["B2_KEY_ID"] == str(jobs / ".env")
    assert found.values["WANDB_API_KEY"] == "root-w"
    assert found.origins["WANDB_API_KEY"] == str(tmp_path / ".env")
    assert missing == ["B2_APP_KEY"]
    with pytest.raises(UserError) as info:
        read_secrets(job, {})
    assert f"the environment or {jobs / '.env'} or {tmp_path / '.env'}" in str(info.value)


def test_a_job_at_the_repo_root_reads_one_dotenv(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert dotenv_paths(make_job(tmp_path)) == [tmp_path / ".env"]


def test_commands_that_read_no_secret_never_import_dotenv() -> None:
    root = Path(__file__).resolve().parent.parent
    probe = (
        "import sys\nfrom vastjob.cli import main\n"
        "try:\n    main(['render', 'jobs/burgers512.yaml', '--graph'])\nexcept SystemExit:\n    pass\n"
        "print('dotenv' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "False"
    assert parse_dotenv("K=v\n") == {"K": "v"}  # and the reader still works where secrets are read
