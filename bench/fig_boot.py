"""Boot critical path: the burgers job's steps with simulated latencies (apt 2 s, clone 0.5 s, pip 6 s,
data 4 s), run by the emitted script, vs the same steps one after the other (the old way)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.bootsim import JOB, LATENCIES, SimInstance, critical_path
from bench.harness import Figure, Timing, seconds

TARGET = 1.05


def measure(*, repeat: int = 3, scale: float = 1.0) -> Figure:
    """Boot a fresh simulated instance `repeat` times, and run the sequential baseline as often."""
    from vastjob.compile import build_graph, render_script
    from vastjob.spec.load import load_job

    job = load_job(JOB)
    graph = build_graph(job)
    latency = {k: v * scale for k, v in LATENCIES.items()}
    critical = critical_path({s.id: s.needs for s in graph.steps}, latency)
    total = sum(latency[s.id.split(":", 1)[0]] for s in graph.steps if s.id.split(":", 1)[0] in latency)
    script = render_script(job)
    boots, olds = [], []
    with tempfile.TemporaryDirectory(prefix="vastjob-bench-") as tmp:
        for n in range(repeat):
            # A fresh folder each time: a first start has no markers.
            sim = SimInstance.create(Path(tmp) / f"boot{n}", script, latency)
            boots.append(sim.start())
            olds.append(sim.sequential())
    ours, base = Timing("emitted script", tuple(boots)), Timing("same steps in sequence", tuple(olds))
    over = ours.median / critical
    rows = [
        [
            ours.label,
            seconds(ours.median),
            f"{ours.median / critical:.3f}x",
            f"{ours.median / base.median:.2f}x",
        ],
        [base.label, seconds(base.median), f"{base.median / critical:.3f}x", "1.00x"],
        ["critical path (computed)", seconds(critical), "1.000x", f"{critical / base.median:.2f}x"],
        ["sum of latencies", seconds(total), f"{total / critical:.3f}x", f"{total / base.median:.2f}x"],
    ]
    return Figure(
        key="boot",
        title=f"Boot critical path (time to reach run; latencies x{scale:g}, median of {repeat})",
        baseline="the same steps run one after the other (the old way), same shims",
        target=f"time to reach run <= {TARGET}x the critical path",
        columns=["what", "time to run", "vs critical path", "vs sequential"],
        rows=rows,
        headline=f"run starts after {seconds(ours.median)}, {over:.3f}x the critical path "
        f"({seconds(critical)}); the old way takes {seconds(base.median)} "
        f"({base.median / ours.median:.2f}x longer)",
        met=over <= TARGET,
        timings=[ours, base],
        extra={
            "critical_path_s": critical,
            "sum_s": total,
            "over_critical": over,
            "graph": {s.id: list(s.needs) for s in graph.steps},
        },
    )
