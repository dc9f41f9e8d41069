"""The `vastjob-validate` hook of `.pre-commit-hooks.yaml`, run by the real pre-commit in a fresh git repo.

pre-commit installs the hook from a committed copy of this working tree, with pip from its configured index,
into a PRE_COMMIT_HOME under the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit")
VASTJOB = shutil.which("vastjob")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def _git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """This working tree (tracked and new files, ignored ones left out) committed into a temporary repo."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copy = tmp_path / "hook-source"
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / rel)
    _git("init", "-q", str(copy), cwd=tmp_path)
    _git("add", "-A", cwd=copy)
    assert _git("commit", "-q", "-m", "hook source", cwd=copy).returncode == 0
    return copy, _git("rev-parse", "HEAD", cwd=copy).stdout.strip()


@pytest.mark.skipif(PRE_COMMIT is None or VASTJOB is None, reason="pre-commit or vastjob is not installed")
def test_the_hook_passes_a_starter_and_blocks_a_broken_spec(
    tmp_path: Path, hook_repo: tuple[Path, str]
) -> None:
    assert PRE_COMMIT is not None and VASTJOB is not None
    source, rev = hook_repo
    user = tmp_path / "user"
    _git("init", "-q", str(user), cwd=tmp_path)
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks: [{{id: vastjob-validate}}]\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    subprocess.run([VASTJOB, "init"], cwd=user, check=True, capture_output=True)
    installed = subprocess.run([PRE_COMMIT, "install"], cwd=user, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    _git("add", "-A", cwd=user)
    first = _git("commit", "-m", "start with vastjob", cwd=user, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "vastjob validate" in first.stdout + first.stderr and "Passed" in first.stdout + first.stderr

    spec = user / "jobs" / "user.yaml"
    spec.write_text(spec.read_text().replace("max_price_per_hour: 0.80", "max_price_per_hour: cheap"))
    _git("add", "-A", cwd=user)
    second = _git("commit", "-m", "a broken spec", cwd=user, env=env)
    said = second.stdout + second.stderr
    assert second.returncode == 1 and "Failed" in said
    located = r'jobs/user\.yaml:\d+:\d+: \$\.offer\.max_price_per_hour: expected a number, got "cheap"'
    assert re.search(located, said)
    assert _git("rev-list", "--count", "HEAD", cwd=user).stdout.strip() == "1"  # nothing was committed
