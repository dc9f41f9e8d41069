"""Multi-node jobs without torch: the spec, the compiled script, the cluster plan (also through the CLI)
and the peer helper's responder."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support.jobs import job_of, rented_doc
from vastjob.cli import cli
from vastjob.compile import compile_job, distributed, render_script
from vastjob.emulator import Emulator
from vastjob.errors import RenderError, SpecError, UserError
from vastjob.spec.load import load_job
from vastjob.spec.model import JobSpec
from vastjob.vast.client import RetryPolicy, VastClient
from vastjob.vast.cluster_plan import ClusterPlan, cluster_of
from vastjob.vast.plan import make_plan


def _multi(nodes: int = 2, **fields: Any) -> JobSpec:
    doc = rented_doc(nodes=nodes, **fields)
    doc["distributed"] = {"peer_timeout": "10s", "rendezvous_timeout": "1m", **doc.get("distributed", {})}
    return JobSpec.from_document(doc, source="multi.yaml")


def _client(emu: Emulator) -> VastClient:
    return VastClient(
        emu.api_key, emu.url, retry=RetryPolicy(attempts=4, base_delay=0.05), log_poll_delay=0.05
    )


# -- spec and compile ------------------------------------------------------------------------------------


def _load(tmp_path: Path, **fields: Any) -> JobSpec:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(rented_doc(**fields)))
    return load_job(path)


def test_the_schema_takes_nodes_and_distributed_and_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    job = _load(tmp_path, nodes=4, distributed={"port": 29600, "peer_timeout": "20s"})
    assert (job.nodes, job.distributed.port, job.distributed.peer_timeout_s) == (4, 29600, 20)
    assert job.distributed.rendezvous_timeout_s == 600 and job.distributed.launcher == "torchrun"
    for bad in (
        {"nodes": 0},
        {"nodes": 2, "distributed": {"launcher": "mpirun"}},
        {"nodes": 2, "distributed": {"peer_timeout": "0s"}},
    ):
        with pytest.raises(SpecError):
            _load(tmp_path, **bad)


def test_a_single_node_job_has_no_rendezvous() -> None:
    graph = compile_job(job_of()).graph
    assert "rendezvous" not in graph.ids
    assert "vj_mn" not in render_script(job_of())


def test_the_rendezvous_comes_after_gpu_check_and_everything_else_waits_for_it() -> None:
    graph = compile_job(_multi(setup={"commands": ["true"]})).graph
    assert graph.ids == ("gpu-check", "rendezvous", "setup", "run")
    assert graph.step("rendezvous").needs == ("gpu-check",)
    assert graph.step("setup").needs == ("rendezvous",)
    assert graph.step("run").body == ("vj_mn_run 'sleep 30'",)
    assert not graph.step("rendezvous").resumable  # every start meets again


def test_the_script_sets_the_variables_and_passes_shellcheck(tmp_path: Path) -> None:
    script = render_script(
        _multi(offer={**rented_doc()["offer"], "gpu": {"names": ["RTX 4090"], "count": 4}})
    )
    assert "export NNODES=2 NODE_RANK=${VASTJOB_NODE_RANK:-0} NPROC_PER_NODE=4" in script
    assert "export WORLD_SIZE=8 MASTER_PORT=29500 NCCL_SOCKET_IFNAME=eth0" in script
    (tmp_path / "job.sh").write_text(script)
    shellcheck = Path(sys.executable).parent / "shellcheck"
    done = subprocess.run(
        [str(shellcheck), "--severity=style", str(tmp_path / "job.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_a_spec_may_not_set_a_variable_vastjob_provides() -> None:
    with pytest.raises(RenderError, match="MASTER_ADDR"):
        render_script(_multi(env={"MASTER_ADDR": "10.0.0.1"}))


# -- plan --------------------------------------------------------------------------------------------------


@pytest.mark.emulator(n_offers=2000)
def test_plan_of_a_4_node_job_shows_the_cluster_and_the_whole_cost(emu: Emulator) -> None:
    with _client(emu) as client:
        plan = make_plan(client, compile_job(_multi(4)))
    assert isinstance(plan, ClusterPlan)
    assert len(plan.nodes) == 4
    assert {cluster_of(c) for c in plan.nodes} == {plan.cluster_id}
    assert all(c.price_per_hour <= 0.8 for c in plan.nodes)
    whole = sum(c.price_per_hour for c in plan.nodes)
    assert plan.price_per_hour == pytest.approx(whole)
    text = plan.render()
    assert f"cluster {plan.cluster_id}: 4 nodes" in text
    assert f"${whole:.3f}/h for the whole job, ${whole / 6:.2f} for 10m" in text
    assert all(str(c.offer.id) in text for c in plan.nodes)
    data = plan.to_json()["cluster"]
    assert data["cluster_id"] == plan.cluster_id and len(data["nodes"]) == 4
    # No other cluster has four matching offers that cost less together.
    by: dict[int, list[float]] = {}
    for c in plan.candidates:
        if cluster_of(c) is not None:
            by.setdefault(cluster_of(c) or 0, []).append(c.price_per_hour)
    assert min(sum(v[:4]) for v in by.values() if len(v) >= 4) == pytest.approx(whole)


@pytest.mark.emulator(n_offers=2000)
def test_more_nodes_than_any_cluster_is_refused_at_plan_time(emu: Emulator) -> None:
    with _client(emu) as client:
        two = make_plan(client, compile_job(_multi(2)))
        with pytest.raises(UserError, match="needs 9 nodes in one cluster") as err:
            make_plan(client, compile_job(_multi(9)))
    sizes: dict[int, int] = {}
    for c in two.candidates:
        if cluster_of(c) is not None:
            sizes[cluster_of(c) or 0] = sizes.get(cluster_of(c) or 0, 0) + 1
    assert f"the largest cluster seen has {max(sizes.values())} matching offer(s)" in str(err.value)


@pytest.mark.emulator(n_offers=2000)
def test_vastjob_plan_of_the_4_node_example_shows_the_cluster_and_the_whole_cost(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAST_URL", emu.url)
    monkeypatch.setenv("VAST_API_KEY", emu.api_key)
    example = str(Path(__file__).resolve().parent / "cases" / "multinode" / "plan4.yaml")
    text = CliRunner().invoke(cli, ["plan", example]).output
    data = json.loads(CliRunner().invoke(cli, ["plan", example, "-o", "json"]).output)
    cluster = data["cluster"]
    assert len(cluster["nodes"]) == 4
    whole = sum(n["price_per_hour"] for n in cluster["nodes"])
    assert cluster["price_per_hour"] == pytest.approx(whole, abs=1e-3)  # each node's is shown rounded
    assert cluster["cost"] == pytest.approx(cluster["price_per_hour"] * 2)  # max_runtime: 2h
    assert (
        f"cluster {cluster['cluster_id']}: 4 nodes, one overlay network (${whole:.3f}/h for the whole job"
        in text
    )
    assert data["chosen"]["id"] == cluster["nodes"][0]["id"]  # rank 0 is the offer marked


def _helper(mode: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = distributed.helper_source()
    return subprocess.run(
        [sys.executable, "-c", code, mode, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_responder_answers_only_its_own_job_and_fails_the_job_for_one_failed_rank() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    main = subprocess.Popen(["sleep", "60"])  # stands in for the job script the responder lives beside
    env = {
        "PATH": "/usr/bin:/bin",
        "VASTJOB_NONCE": "job-a",
        "NNODES": "2",
        "MASTER_PORT": str(port - 1),
        "VJ_MAIN": str(main.pid),
        "MASTER_ADDR": "127.0.0.1",
        "VJ_PEER": "30",
        "VJ_RDV": "60",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", distributed.helper_source(), "serve", "127.0.0.1"],
        env={**env, "NODE_RANK": "0"},
    )
    try:
        ask = {**env, "NODE_RANK": "1"}
        deadline = time.monotonic() + 20
        while _helper("ask", "run", env=ask).stdout.strip() != "run 1 0" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _helper("ask", "run", env=ask).stdout.strip() == "run 1 0"
        # Another job on the same overlay (another nonce) gets no answer, so it never takes this rank 0.
        assert _helper("ask", "run", env={**ask, "VASTJOB_NONCE": "job-b"}).stdout.strip() == ""
        assert _helper("ask", "fail", env=ask).stdout.strip() == "fail 1 0"
        assert _helper("ask", "run", env={**env, "NODE_RANK": "0"}).stdout.strip() == "fail 2 0"  # sticky
    finally:
        main.kill()
        main.wait()
    assert server.wait(timeout=10) == 0  # it ends with the job script
