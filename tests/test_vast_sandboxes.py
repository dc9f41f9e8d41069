"""`apply --local` sandboxes: under the user's cache (XDG), removed after success unless kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from vastjob.userfiles import cache_root
from vastjob.vast.sandboxes import finish, new_sandbox


def test_the_cache_follows_xdg_and_falls_back_to_home(tmp_path: Path) -> None:
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path / "c"), "HOME": "/nowhere"}) == tmp_path / "c/vastjob"
    assert cache_root({"HOME": str(tmp_path)}) == tmp_path / ".cache/vastjob"
    assert cache_root({"XDG_CACHE_HOME": "relative", "HOME": str(tmp_path)}) == tmp_path / ".cache/vastjob"


def test_a_success_removes_its_sandbox_and_a_failure_or_keep_does_not(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    ok, failed, kept = (new_sandbox(env) for _ in range(3))
    assert len({ok, failed, kept}) == 3
    assert all(p.parent == tmp_path / "cache/vastjob/local" for p in (ok, failed, kept))
    for path in (ok, failed, kept):
        (path / "1" / "var").mkdir(parents=True)
        (path / "1" / "var" / "job.log").write_text("log\n")
    assert finish(ok, succeeded=True, keep=False, environ=env) and not ok.exists()
    assert not finish(failed, succeeded=False, keep=False, environ=env) and failed.is_dir()
    assert not finish(kept, succeeded=True, keep=True, environ=env) and kept.is_dir()


def test_a_folder_the_user_named_is_never_removed(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    mine = tmp_path / "my-sandbox"
    mine.mkdir()
    assert not finish(mine, succeeded=True, keep=False, environ=env) and mine.is_dir()
    outside = tmp_path / "cache/vastjob"  # the cache root itself is not a sandbox either
    outside.mkdir(parents=True)
    assert not finish(outside, succeeded=True, keep=False, environ=env) and outside.is_dir()


@pytest.mark.slow
def test_apply_local_runs_under_the_cache_and_cleans_up_after_a_success(tmp_path: Path) -> None:
    import json
    import os

    import yaml
    from click.testing import CliRunner

    from vastjob.cli import cli

    demo = str(Path(__file__).resolve().parent.parent / "jobs/demo.yaml")
    parent = Path(os.environ["HOME"]) / ".cache/vastjob/local"  # the tests' HOME is a temporary folder
    done = CliRunner().invoke(cli, ["apply", demo, "--local", "--yes", "-o", "json"])
    assert done.exit_code == 0, done.output
    local = json.loads(done.stdout)["local"]
    assert Path(local["sandbox"]).parent == parent and local["sandbox_removed"]
    assert not Path(local["sandbox"]).exists()

    kept = CliRunner().invoke(cli, ["apply", demo, "--local", "--yes", "--keep"])
    assert kept.exit_code == 0 and "sandbox kept at " + str(parent) in kept.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {
                **yaml.safe_load(Path(demo).read_text()),
                "name": "broken",
                "run": {"command": "exit 3", "max_runtime": "5m"},
            }
        )
    )
    failed = CliRunner().invoke(cli, ["apply", str(broken), "--local", "--yes", "-o", "json"])
    assert failed.exit_code == 4  # EXIT_JOB_FAILED
    assert Path(json.loads(failed.stdout)["local"]["sandbox"]).is_dir()  # kept, to read its log
    assert len(list(parent.iterdir())) == 2  # the kept one and the failed one
