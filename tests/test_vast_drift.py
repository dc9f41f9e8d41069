"""Warnings before pinning, with real git: unpushed commits, a remote that moved, uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vastjob.spec.model import JobSpec
from vastjob.vast.drift import drift_warnings, repo_key
from vastjob.vast.pin import resolve_commit

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, Path, JobSpec]:
    """A bare remote with one commit, a clone of it holding jobs/x.yaml, and that job (repo: the remote)."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    git(work, "checkout", "-q", "-b", "main")
    (work / "jobs").mkdir()
    (work / "jobs/x.yaml").write_text("# the spec\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "one")
    git(work, "push", "-q", "origin", "main")
    doc = {
        "version": 1,
        "name": "x",
        "offer": {"max_price_per_hour": 1},
        "instance": {"image": "i"},
        "run": {"command": "go"},
        "repo": {"url": f"file://{bare}", "ref": "main"},
    }
    return bare, work, JobSpec.from_document(doc, source=str(work / "jobs/x.yaml"))


def warnings(job: JobSpec) -> list[str]:
    assert job.repo is not None
    return drift_warnings(job.repo, resolve_commit(job.repo), job.source)


def test_in_step_says_nothing(clone: tuple[Path, Path, JobSpec]) -> None:
    assert warnings(clone[2]) == []


def test_an_unpushed_commit_is_named_with_how_to_proceed(clone: tuple[Path, Path, JobSpec]) -> None:
    _, work, job = clone
    git(work, "commit", "-q", "--allow-empty", "-m", "two")
    (said,) = warnings(job)
    assert said.startswith("1 local commit is not in main at ") and "git push" in said


def test_a_remote_that_moved_on_is_named_before_and_after_fetch(
    clone: tuple[Path, Path, JobSpec], tmp_path: Path
) -> None:
    bare, work, job = clone
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(bare), str(other)], check=True, capture_output=True)
    git(other, "commit", "-q", "--allow-empty", "-m", "from elsewhere")
    git(other, "push", "-q", "origin", "main")
    (unseen,) = warnings(job)
    assert "a commit this clone does not have" in unseen and "git fetch" in unseen
    git(work, "fetch", "-q")
    (behind,) = warnings(job)
    assert "has 1 commit your HEAD" in behind


def test_uncommitted_changes_are_named(clone: tuple[Path, Path, JobSpec]) -> None:
    _, work, job = clone
    (work / "jobs/x.yaml").write_text("# changed\n")
    (said,) = warnings(job)
    assert said.startswith(f"uncommitted changes in {work} are not on the instance")


def test_a_spec_outside_a_clone_of_its_repo_says_nothing(
    clone: tuple[Path, Path, JobSpec], tmp_path: Path
) -> None:
    _, work, job = clone
    git(work, "commit", "-q", "--allow-empty", "-m", "unpushed")
    assert job.repo is not None
    commit = resolve_commit(job.repo)
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    assert drift_warnings(job.repo, commit, str(elsewhere / "x.yaml")) == []
    assert drift_warnings(job.repo, commit, str(tmp_path / "no-repo" / "x.yaml")) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://tok@example.com/Org/proj.git", "git@example.com:Org/proj"),
        ("ssh://git@example.com:22/Org/proj.git/", "https://example.com/Org/proj"),
    ],
)
def test_repo_key_sees_one_repo_through_its_url_forms(a: str, b: str) -> None:
    assert repo_key(a) == repo_key(b)


def test_apply_says_the_warning_before_renting(
    clone: tuple[Path, Path, JobSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from click.testing import CliRunner

    from vastjob.cli import cli
    from vastjob.emulator import Emulator

    _, work, job = clone
    spec = work / "jobs/x.yaml"
    doc = {
        **dict(job.document),
        "workdir": "/workspace/x",
        "offer": {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": 5},
    }
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    git(work, "commit", "-q", "-am", "the spec, not pushed")
    with Emulator(sandbox=work.parent / "sandbox", n_offers=200, auto_advance=False) as emu:
        monkeypatch.setenv("VAST_URL", emu.url)
        monkeypatch.setenv("VAST_API_KEY", emu.api_key)
        result = CliRunner().invoke(cli, ["apply", str(spec), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "warning: 1 local commit is not in main at " in result.stderr and "git push" in result.stderr
