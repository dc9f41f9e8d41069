"""The step graph: lowering, needs, order, hashes, errors; and the dataset source kinds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.jobs import job_of
from vastjob.compile import build_graph, render_script
from vastjob.compile.sources import SOURCE_KINDS, remote_exports
from vastjob.errors import RenderError, SpecError

REPO = {"url": "https://example.com/org/proj.git", "ref": "main", "dir": "/workspace/proj"}
DATA = {"train": {"source": "store:bucket/train.h5", "dest": "data/"}}
REMOTES = {
    "store": {"type": "s3", "options": {"provider": "AWS"}, "secrets": {"secret_access_key": "S3_KEY"}}
}


def _full(**extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "repo": REPO,
        "setup": {"apt": ["git", "rclone"], "pip": [["-e", "."]], "commands": ["make"]},
        "remotes": REMOTES,
        "datasets": DATA,
        "secrets": ["S3_KEY"],
        "env": {"STAGE": "all"},
        "steps": [{"id": "prep", "run": "python prep.py", "needs": ["setup"]}],
    }
    fields.update(extra)
    return fields


def test_sections_lower_into_steps_in_a_runnable_order() -> None:
    graph = build_graph(job_of(**_full()))
    assert graph.ids == ("gpu-check", "apt", "clone", "pip", "data:train", "setup", "prep", "run")
    needs = {s.id: s.needs for s in graph.steps}
    assert needs["gpu-check"] == ()
    assert needs["apt"] == ("gpu-check",)
    assert needs["clone"] == ("apt",)  # git comes from apt
    assert needs["pip"] == ("apt", "clone")
    assert needs["data:train"] == ("apt", "clone")  # rclone from apt, dest inside the repo; not pip
    assert needs["run"] == ("data:train", "prep")
    assert [s.retries for s in graph.steps] == [0, 3, 3, 3, 3, 0, 0, 0]
    assert not graph.step("gpu-check").resumable


def test_a_dataset_outside_the_repo_does_not_wait_for_the_clone() -> None:
    datasets = {"ckpt": {"source": "https://example.com/c.pt", "dest": "/data/ckpt/"}}
    graph = build_graph(job_of(**_full(datasets=datasets, setup={"apt": ["git"], "commands": ["make"]})))
    assert graph.step("data:ckpt").needs == ("apt",)  # curl is installed by apt when missing
    assert "curl" in graph.step("apt").body[0]
    no_apt = build_graph(
        job_of(
            datasets={"ckpt": {"source": "store:c.pt", "dest": "/data/c.pt"}},
            remotes=REMOTES,
            secrets=["S3_KEY"],
        )
    )
    assert no_apt.step("data:ckpt").needs == ("apt",)
    assert no_apt.step("apt").body == ("vj_apt rclone",)


def test_changing_a_step_changes_its_hash_and_everything_after_it() -> None:
    base = build_graph(job_of(**_full())).hashes
    changed = build_graph(
        job_of(**_full(steps=[{"id": "prep", "run": "python prep.py --fast", "needs": ["setup"]}]))
    ).hashes
    assert {k for k in base if base[k] != changed[k]} == {"prep", "run"}
    pip = build_graph(
        job_of(**_full(setup={"apt": ["git", "rclone"], "pip": [["torch"]], "commands": ["make"]}))
    ).hashes
    assert {k for k in base if base[k] != pip[k]} == {"pip", "setup", "prep", "run"}
    env = build_graph(job_of(**_full(env={"STAGE": "operator"}))).hashes
    assert {k for k in base if base[k] != env[k]} == {"setup", "prep", "run"}
    assert len(set(base.values())) == len(base)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"id": "prep", "run": "x", "needs": ["setpu"]}],
            "needs unknown step 'setpu'; did you mean 'setup'?",
        ),
        (
            [{"id": "a", "run": "x", "needs": ["b"]}, {"id": "b", "run": "x", "needs": ["a"]}],
            "cycle: a -> b -> a",
        ),
        ([{"id": "apt", "run": "x"}], "step id 'apt' is used twice"),
    ],
)
def test_graph_errors_name_the_spec_and_the_step(steps: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError) as err:
        build_graph(job_of(**_full(steps=steps)))
    problem = err.value.problems[0]
    assert problem.file == "test.yaml"
    assert problem.path.startswith("$.")
    assert message in str(err.value)


def test_graph_as_text_and_mermaid() -> None:
    graph = build_graph(job_of(**_full(datasets={'say "hi"': {"source": "store:x", "dest": "d/"}})))
    text = graph.to_text()
    assert text.splitlines()[0] == "job scripttest: 8 steps"
    assert f"  clone{' ' * 10}{graph.hashes['clone']}  needs: apt; retries: 3; timeout: 30m\n" in text
    mermaid = graph.to_mermaid()
    assert 's4["data:say #quot;hi#quot;"]' in mermaid
    assert "s2 --> s3" in mermaid


def test_gpu_check_asks_for_count_and_vram() -> None:
    job = job_of(
        offer={"gpu": {"names": ["H200 NVL"], "count": 2, "min_vram_gb": 96}, "max_price_per_hour": 5}
    )
    assert build_graph(job).step("gpu-check").body == ("vj_gpu_check 2 96000",)


def test_source_kinds_are_one_registry() -> None:
    assert list(SOURCE_KINDS) == ["url", "hf", "wandb", "rclone"]


def test_url_source_checks_size_and_sha256() -> None:
    sha = "ab" * 32
    job = job_of(
        datasets={
            "w": {
                "source": "https://example.com/files/w.bin?dl=1",
                "dest": "weights/",
                "min_bytes": 10,
                "sha256": sha,
            }
        }
    )
    assert build_graph(job).step("data:w").body == (
        "vj_url 'https://example.com/files/w.bin?dl=1' weights/w.bin",
        "vj_size weights/w.bin 10",
        f"vj_sha256 weights/w.bin {sha}",
    )


def test_hf_source_uses_the_resolve_url_and_the_token_by_name() -> None:
    job = job_of(
        datasets={"m": {"source": "hf://datasets/org/set@v2/split/train.parquet", "dest": "/data/"}},
        secrets=["HF_TOKEN"],
    )
    body = build_graph(job).step("data:m").body
    assert body == (
        "vj_url https://huggingface.co/datasets/org/set/resolve/v2/split/train.parquet "
        '"$VJ_ROOT"/data/train.parquet HF_TOKEN',
    )
    with pytest.raises(RenderError, match="not hf://"):
        build_graph(job_of(datasets={"m": {"source": "hf://only-org", "dest": "d/"}}))


def test_wandb_source_installs_wandb_through_pip_and_waits_for_it() -> None:
    job = job_of(datasets={"a": {"source": "wandb://ent/proj/ds:latest", "dest": "/data/a/", "min_bytes": 5}})
    graph = build_graph(job)
    assert graph.step("pip").body == ("vj_pip wandb",)
    assert graph.step("data:a").needs == ("pip",)
    assert graph.step("data:a").body == (
        'vj_wandb ent/proj/ds:latest "$VJ_ROOT"/data/a/',
        'vj_size "$VJ_ROOT"/data/a/ 5',
    )


def test_rclone_remotes_are_configured_with_secret_references_only() -> None:
    job = job_of(**_full())
    assert remote_exports(job) == [
        "export RCLONE_CONFIG_STORE_TYPE=s3",
        "export RCLONE_CONFIG_STORE_PROVIDER=AWS",
        'export RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY="${S3_KEY-}"',
    ]
    file_dest = job_of(
        **_full(datasets={"f": {"source": "store:b/f.h5", "dest": "data/f.h5", "sha256": "0" * 64}})
    )
    assert build_graph(file_dest).step("data:f").body == (
        "vj_rclone copyto store:b/f.h5 data/f.h5",
        f"vj_sha256 data/f.h5 {'0' * 64}",
    )


def test_an_unknown_source_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"cannot read source 'nowhere:x'.*configured: store"):
        render_script(job_of(**_full(datasets={"x": {"source": "nowhere:x", "dest": "d/"}})))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"env": {"VJ_ROOT": "/"}}, "rely on this variable"),
        ({"env": {"BAD-NAME": "x"}}, "not a valid environment variable name"),
        # A trailing newline would split `export NAME=value` in two lines, the second not a command.
        ({"env": {"FOO\n": "x"}}, "not a valid environment variable name"),
        ({"secrets": ["KEY\n"]}, "not a valid environment variable name"),
        ({"secrets": ["$(id)"]}, "not a valid environment variable name"),
        ({"repo": {**REPO, "token_secret": "A B"}}, "not a valid environment variable name"),
        # The shutdown request needs these as Vast sets them; bash reads the others from its environment.
        ({"env": {"CONTAINER_API_KEY": "x"}}, "'CONTAINER_API_KEY': the onstart script and its shutdown"),
        ({"env": {"CONTAINER_ID": "1"}}, "rely on this variable"),
        ({"env": {"VASTJOB_API_URL": "http://x"}}, "rely on this variable"),
        ({"secrets": ["CONTAINER_API_KEY"]}, "secret 'CONTAINER_API_KEY'"),
        ({"env": {"IFS": ","}}, "rely on this variable"),
        ({"env": {"SHELLOPTS": "xtrace"}}, "rely on this variable"),
        ({"secrets": ["BASH_ENV"]}, "rely on this variable"),
        ({"env": {"PATH": "/opt/conda/bin:$PATH"}}, "values are not expanded"),
        # Without the system folders neither the steps nor the shutdown request could run.
        ({"env": {"PATH": "/opt/conda/bin"}}, "need /usr/bin and /bin in it"),
        # The name goes into comments of the script and the bootstrap: a newline would end one.
        ({"name": "demo\n"}, "job name 'demo\\\\n': use lowercase letters"),
    ],
)
def test_names_bash_would_interpret_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_script(job_of(**fields))


def test_a_need_on_an_absent_built_in_step_waits_for_what_would_precede_it() -> None:
    job = job_of(
        repo=REPO,
        steps=[
            {"id": "a", "run": "x", "needs": ["setup"]},
            {"id": "b", "run": "x", "needs": ["pip", "a"]},
            {"id": "c", "run": "x"},
        ],
    )
    graph = build_graph(job)
    assert graph.step("a").needs == ("clone",)
    assert graph.step("b").needs == ("clone", "a")
    assert graph.step("c").needs == ("clone",)
    bare = build_graph(job_of(steps=[{"id": "a", "run": "x", "needs": ["apt"]}]))
    assert bare.step("a").needs == ("gpu-check",)


def test_a_literal_path_is_allowed_in_env() -> None:
    assert "export PATH=/opt/conda/bin:/usr/bin:/bin\n" in render_script(
        job_of(env={"PATH": "/opt/conda/bin:/usr/bin:/bin"})
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workdir": "/../.."}, r"the job's folder '/\.\./\.\.' \(workdir, repo.dir\) goes above /"),
        ({"repo": {**REPO, "dir": "/w/../../x"}}, "goes above /"),
        (
            {"workdir": "/w", "datasets": {"d": {"source": "store:x", "dest": "../../home/"}}},
            r"dataset d: dest '../../home/' goes above / with '..' \(from /w\)",
        ),
        (
            {"datasets": {"d": {"source": "store:x", "dest": "/../x", "links": {"a": "b"}}}},
            "dest '/../x' goes above /",
        ),
        (
            {"workdir": "/w", "datasets": {"d": {"source": "store:x", "links": {"../../l": "t"}}}},
            "link '../../l' goes above /",
        ),
    ],
)
def test_paths_that_climb_above_the_root_are_refused(fields: dict[str, Any], message: str) -> None:
    # Under the script's root (the emulator's sandbox, a test folder) such a path would write outside it.
    with pytest.raises(RenderError, match=message):
        render_script(job_of(remotes={"store": {"type": "local"}}, **fields))


def test_paths_with_dotdot_inside_the_root_are_kept() -> None:
    job = job_of(
        workdir="/w/sub",
        remotes={"store": {"type": "local"}},
        datasets={"d": {"source": "store:x", "dest": "../data/", "links": {"../l": "t"}}},
    )
    assert "vj_rclone copy store:x ../data/" in render_script(job)


@pytest.mark.parametrize("commit", ["abc123", "g" * 40, "-" + "a" * 39, "a" * 41, "abcdef0\n"])
def test_a_commit_that_is_not_a_sha_is_refused(commit: str) -> None:
    with pytest.raises(RenderError, match="is not a commit SHA"):
        render_script(job_of(repo=REPO).pinned(commit))


def test_an_abbreviated_commit_is_fetched_with_its_ref() -> None:
    full, short = "0123456789abcdef0123456789abcdef01234567", "0123456"
    assert f"vj_clone {REPO['url']} {full} {full}" in render_script(job_of(repo=REPO).pinned(full))
    assert f"vj_clone {REPO['url']} {REPO['ref']} {short}" in render_script(
        job_of(repo={**REPO, "commit": short})
    )


def test_changing_a_remote_reruns_the_downloads_from_it_and_the_run() -> None:
    datasets = {**DATA, "web": {"source": "https://example.com/w.bin", "dest": "/data/w.bin"}}
    base = build_graph(job_of(**_full(datasets=datasets))).hashes
    remotes = {"store": {**REMOTES["store"], "options": {"provider": "Cloudflare"}}}
    changed = build_graph(job_of(**_full(datasets=datasets, remotes=remotes))).hashes
    assert {k for k in base if base[k] != changed[k]} == {"data:train", "run"}
    secret = {"store": {**REMOTES["store"], "secrets": {"secret_access_key": "OTHER_KEY"}}}
    moved = build_graph(job_of(**_full(datasets=datasets, remotes=secret, secrets=["OTHER_KEY"]))).hashes
    assert base["data:train"] != moved["data:train"] and base["data:web"] == moved["data:web"]
