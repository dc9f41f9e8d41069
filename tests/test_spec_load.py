"""load_job: the example jobs, extends, --set, and the public API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vastjob
from vastjob.errors import SpecError
from vastjob.spec import JobSpec, load_job
from vastjob.spec.load import Reader, check_file

JOBS = Path(__file__).resolve().parent.parent / "jobs"

MINIMAL = "version: 1\nname: t\noffer: {max_price_per_hour: 1}\ninstance: {image: img}\nrun: {command: go}\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_package_reexports_load_job() -> None:
    assert vastjob.load_job is load_job


@pytest.mark.parametrize(
    ("job", "stage", "reset", "config"),
    [
        ("burgers512", "all", "1", "configs/train_burgers_512dim_v2_pru2jxc4.yaml"),
        ("burgers512-resume", "all", "0", "configs/train_burgers_512dim_v2_pru2jxc4.yaml"),
        ("burgers512-operator", "operator", "1", "configs/train_burgers_512dim_v2_pru2jxc4.yaml"),
        ("burgers32-diffusion", "diffusion", "0", "configs/train_burgers_32dim_pru2jxc4.yaml"),
    ],
)
def test_the_launch_examples(job: str, stage: str, reset: str, config: str) -> None:
    spec = load_job(JOBS / f"{job}.yaml")
    env = dict(spec.env)
    assert (spec.name, env["TRAIN_STAGE"], env["RESET_CACHE"], env["TRAIN_CONFIG"]) == (
        job,
        stage,
        reset,
        config,
    )
    assert spec.offer.gpu.names == ("H200 NVL",)
    assert spec.offer.gpu.min_vram_gb == 96
    assert spec.offer.max_price_per_hour == 2.5
    assert spec.offer.min_cuda == "12.4"
    assert spec.repo is not None and spec.repo.ref == "feature/sota_burgers_upgrades"
    assert spec.setup.pip == (("-e", ".[dev]"),)
    assert spec.secrets == ("B2_KEY_ID", "B2_APP_KEY", "WANDB_API_KEY")
    assert [(d.name, d.min_bytes) for d in spec.datasets] == [("burgers1d_full_v1", 1000000)]
    assert spec.run.max_runtime_s == 12 * 3600
    assert spec.shutdown.on_success == "destroy"
    assert "extends" not in spec.document


def test_demo_needs_nothing_from_the_internet() -> None:
    spec = load_job(JOBS / "demo.yaml")
    assert spec.repo is None and spec.setup.apt == () and spec.datasets == ()
    assert [s.id for s in spec.steps] == ["prepare"]


def test_set_reproduces_the_resume_example() -> None:
    resumed = load_job(JOBS / "burgers512.yaml", ["env.RESET_CACHE=0"])
    assert dict(resumed.env) == dict(load_job(JOBS / "burgers512-resume.yaml").env)
    assert resumed.spec_hash != load_job(JOBS / "burgers512.yaml").spec_hash


def test_set_values_are_yaml_scalars_that_keep_their_text(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL)
    spec = load_job(
        path, ["env.X=1", "env.Y=0.10", "env.Z='a b'", "offer.gpu.count=2", "offer.regions=[US, CA]"]
    )
    assert dict(spec.env) == {"X": "1", "Y": "0.10", "Z": "a b"}
    assert spec.offer.gpu.count == 2
    assert spec.offer.regions == ("US", "CA")


def test_one_override_may_be_passed_as_a_plain_string(tmp_path: Path) -> None:
    assert dict(load_job(write(tmp_path, "job.yaml", MINIMAL), "env.A=1").env) == {"A": "1"}


def test_set_reaches_list_items_by_id_or_index(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL + "steps:\n  - {id: a, run: x}\n  - {id: b, run: y}\n")
    spec = load_job(path, ["steps.b.timeout=5m", "steps.0.retries=3"])
    assert [(s.id, s.retries, s.timeout_s) for s in spec.steps] == [("a", 3, None), ("b", 0, 300)]


def test_a_bad_set_path_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL)
    with pytest.raises(SpecError) as err:
        load_job(path, ["run.command.x=1"])
    assert (
        str(err.value)
        == f"{path}:0:0: $: --set run.command.x=1: $.run.command is \"go\", so it has no field 'x'"
    )


def test_extends_merges_maps_replaces_lists_and_null_removes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "_base.yaml",
        MINIMAL + "env: {A: '1', B: '2'}\nsetup: {apt: [git, curl], commands: [make]}\n",
    )
    child = write(
        tmp_path, "child.yaml", "extends: _base.yaml\nname: child\nenv: {B: ~, C: '3'}\nsetup: {apt: [jq]}\n"
    )
    spec = load_job(child)
    assert spec.name == "child"
    assert dict(spec.env) == {"A": "1", "C": "3"}
    assert spec.setup.apt == ("jq",)
    assert spec.setup.commands == ("make",)


def test_extends_paths_are_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "jobs").mkdir()
    write(tmp_path / "shared", "_base.yaml", MINIMAL.replace("max_runtime", "x") + "env: {A: '1'}\n")
    write(tmp_path / "jobs", "one.yaml", "extends: ../shared/_base.yaml\nname: one\nenv: {A: true}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as err:
        load_job("jobs/one.yaml")
    assert [str(p) for p in err.value.problems] == [
        'jobs/one.yaml:3:10: $.env.A: true is a YAML boolean, not text; write "true" (quoted) to mean text'
    ]


def test_an_inherited_problem_names_the_parent_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "_base.yaml", MINIMAL + "shutdown:\n  on_failure: explode\n")
    write(tmp_path, "job.yaml", "# a comment\nextends: _base.yaml\nname: job\n")
    monkeypatch.chdir(tmp_path)
    problems = check_file("job.yaml").problems
    message = '"explode" is not one of destroy, stop, keep (from _base.yaml:7:15)'
    assert [str(p) for p in problems] == [f"job.yaml:2:1: $.shutdown.on_failure: {message}"]


def test_a_base_need_not_be_a_whole_job(tmp_path: Path) -> None:
    base = write(tmp_path, "_base.yaml", "version: 1\nenv: {A: '1'}\n")
    assert check_file(base).problems == []
    with pytest.raises(SpecError, match="missing required key 'name'"):
        load_job(base)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL.replace("name: t", "nme: t") + "env: {1X: a}\nsecrets: [2Y]\n")
    with pytest.raises(SpecError) as err:
        load_job(path)
    lines = [f"{p.line}:{p.col}: {p.path}" for p in err.value.problems]
    assert lines == ["2:1: $.nme", '6:7: $.env["1X"]', "7:11: $.secrets[0]"]


def test_a_shared_parent_is_read_once(tmp_path: Path) -> None:
    write(tmp_path, "_base.yaml", MINIMAL)
    reader = Reader()
    for name in ("a", "b", "c"):
        check_file(write(tmp_path, f"{name}.yaml", f"extends: _base.yaml\nname: {name}\n"), reader=reader)
    assert sorted(Path(p).name for p in reader._cache) == ["_base.yaml", "a.yaml", "b.yaml", "c.yaml"]


def test_the_model_is_built_from_the_resolved_document(tmp_path: Path) -> None:
    spec = load_job(
        write(tmp_path, "job.yaml", MINIMAL + "repo: {url: 'https://h/x/proj.git', ref: 2024-01-01}\n")
    )
    assert isinstance(spec, JobSpec)
    assert spec.repo is not None and (spec.repo.ref, spec.repo.dir) == ("2024-01-01", "/workspace/proj")
    assert spec.source == str(tmp_path / "job.yaml")
    assert spec.label == f"vastjob:t:{spec.spec_hash}"


def test_whole_numbers_written_as_floats_reach_the_model_as_integers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yaml",
        MINIMAL + "datasets: {d: {source: 'https://h/d', min_bytes: 1e6, timeout: 3e2}}\nversion: 1.0\n",
    )
    path.write_text(path.read_text(encoding="utf-8").replace("version: 1\n", "", 1), encoding="utf-8")
    spec = load_job(path, ["run.max_runtime=1.2e4", "steps=[{id: a, run: x, retries: 2.0}]"])
    # The script compares sizes in bash arithmetic, where 1000000.0 is a syntax error.
    assert [(type(d.min_bytes), d.min_bytes, d.timeout_s) for d in spec.datasets] == [(int, 1000000, 300)]
    assert (spec.run.max_runtime_s, spec.steps[0].retries, spec.document["version"]) == (12000, 2, 1)
    assert (
        spec.spec_hash
        == load_job(path, ["run.max_runtime=12000", "steps=[{id: a, run: x, retries: 2}]"]).spec_hash
    )


def test_an_infinite_or_nan_price_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL)
    for value, what in ((".nan", "not a number"), (".inf", "infinite"), ("1e999", "infinite")):
        with pytest.raises(SpecError) as err:
            load_job(path, [f"offer.max_price_per_hour={value}"])
        message = f"{value} is {what}; write a finite number (from --set offer.max_price_per_hour={value})"
        assert str(err.value) == f"{path}:0:0: $.offer.max_price_per_hour: {message}"


def test_a_very_long_extends_chain_is_a_located_error(tmp_path: Path) -> None:
    for i in range(1, 40):
        write(tmp_path, f"_p{i}.yaml", f"extends: _p{i + 1}.yaml\n")
    write(tmp_path, "_p40.yaml", MINIMAL)
    with pytest.raises(SpecError) as err:
        load_job(write(tmp_path, "job.yaml", "extends: _p1.yaml\nname: job\n"))
    (problem,) = err.value.problems
    assert (Path(problem.file).name, problem.line, problem.col, problem.path) == (
        "_p32.yaml",
        1,
        10,
        "$.extends",
    )
    assert "extends goes more than 32 files deep" in problem.message


def test_a_folder_or_device_is_not_a_spec(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    for path, why in (
        (tmp_path / "folder.yaml", "is a folder, not a spec file"),
        (Path(os.devnull), "is not a regular file"),
    ):
        with pytest.raises(SpecError) as err:
            load_job(path)
        assert str(err.value) == f"{path}:0:0: $: {why}"


def test_set_reaches_a_key_with_dots_in_it(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yaml", MINIMAL + "datasets:\n  pde.v1: {source: 'https://h/a'}\n")
    spec = load_job(path, ["datasets.pde.v1.dest=data/", "datasets.pde.v1.retries=5"])
    assert [(d.name, d.dest, d.retries) for d in spec.datasets] == [("pde.v1", "data/", 5)]
