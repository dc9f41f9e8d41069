"""Restart overhead: a second start of the burgers job with every setup marker present (as after an
interruption during training): the time until `run` starts again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.bootsim import JOB, LATENCIES, SimInstance
from bench.harness import Figure, Timing, seconds

TARGET_S = 0.5


def measure(*, repeat: int = 10, scale: float = 1.0) -> Figure:
    """Boot once, then restart `repeat` times; the first boot's time is the baseline."""
    from vastjob.compile import build_graph, render_script
    from vastjob.spec.load import load_job

    job = load_job(JOB)
    run_hash = build_graph(job).hashes["run"]
    latency = {k: v * scale for k, v in LATENCIES.items()}
    with tempfile.TemporaryDirectory(prefix="vastjob-bench-") as tmp:
        sim = SimInstance.create(Path(tmp) / "restart", render_script(job), latency)
        first = sim.start()
        restarts = []
        for _ in range(repeat):
            # The training run was cut short: its own marker never got written; every setup step's was.
            sim.forget(run_hash)
            restarts.append(sim.start())
        markers = len(sim.markers())
    ours, base = Timing("restart, markers present", tuple(restarts)), Timing("first start", (first,))
    rows = [
        [ours.label, seconds(ours.median), seconds(max(ours.runs)), f"{ours.median / first:.3f}x"],
        [base.label, seconds(first), seconds(first), "1.000x"],
    ]
    return Figure(
        key="restart",
        title=f"Restart overhead (time to reach run again; median of {repeat})",
        baseline="the first start of the same simulated instance",
        target=f"<= {TARGET_S} s to reach run with every marker present",
        columns=["start", "median", "max", "vs first start"],
        rows=rows,
        headline=f"a restart reaches run in {seconds(ours.median)} "
        f"({ours.median / first:.3f}x the first start's {seconds(first)}; {markers} markers)",
        met=ours.median <= TARGET_S,
        timings=[ours, base],
        extra={"markers": markers},
    )
