"""Reaping: GPU time billed past the deadline, for a scripted set of the ways an instance outlives its job,
in the emulator on a small time scale, with `vastjob reap` run every `interval` seconds.

Scenarios: the onstart script SIGKILLed right after start (the container keeps running, and billing); a
script that hangs; an instance that comes back after one DELETE; a status_msg that never recovers; a host
that reports exited. Each instance's label carries its deadline as apply writes it (created + max_runtime
+ boot allowance); the emulator's meter counts the GPU-seconds each one billed past it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Figure

RUNTIME_S = 2  # max_runtime of the scripted job
BOOT_S = 1  # its boot allowance
SCENARIOS: dict[str, dict[str, Any]] = {
    # name -> fault knobs set just before its create. The resurrecting one comes first: the lowest id is
    # the first destroyed of the instances that pass their deadline together.
    "comes back after one DELETE": {"faults": {}, "resurrect": True},
    "script SIGKILLed at start": {"faults": {"kill_script": 1, "kill_script_after": 0.0}},
    "script hangs": {"faults": {}},
    "status_msg never recovers": {"faults": {"fail_msg": 1}},
    "host reports exited": {"faults": {"fail_instances": 1, "fail_status": "exited"}},
}


def _job() -> Any:
    from vastjob.spec.model import JobSpec

    return JobSpec.from_document(
        {
            "version": 1,
            "name": "reap-bench",
            "offer": {"gpu": {"names": ["RTX 4090"], "count": 1}, "max_price_per_hour": 2.0},
            "instance": {"image": "python:3.11-slim", "disk_gb": 10},
            "run": {"command": "sleep 600", "max_runtime": f"{RUNTIME_S}s"},
            "shutdown": {"boot_allowance": f"{BOOT_S}s"},
        }
    )


def measure(*, interval: float = 1.0, scale: float = 1.0) -> Figure:
    """Create one instance per scenario, reap every `interval` seconds until all are gone, read the meter."""
    from vastjob.emulator import Emulator
    from vastjob.vast.client import RetryPolicy, VastClient
    from vastjob.vast.deadline import label_for
    from vastjob.vast.destroy import Patience
    from vastjob.vast.reap import reap

    interval *= scale
    patience = Patience(rounds=3, looks=3, poll_s=0.2 * scale, confirm_looks=1)
    job = _job()
    with (
        tempfile.TemporaryDirectory(prefix="vastjob-bench-reap-") as tmp,
        Emulator(sandbox=Path(tmp), n_offers=300, step_seconds=0.05) as emu,
    ):
        client = VastClient(emu.api_key, emu.url, retry=RetryPolicy(attempts=4, base_delay=0.05))
        offers = client.search_offers({"num_gpus": {"eq": 1}, "limit": len(SCENARIOS)})
        ids: dict[str, int] = {}
        for (name, how), offer in zip(SCENARIOS.items(), offers, strict=True):
            emu.faults.update(how["faults"])
            body = {"image": "x", "disk": 10, "label": label_for(job), "onstart": "sleep 600"}
            ids[name] = client.create_instance(offer["id"], body)
        never_ran = [
            ids[n]
            for n, how in SCENARIOS.items()
            if how["faults"].get("fail_msg") or how["faults"].get("fail_instances")
        ]
        passes: dict[int, int] = {}
        reasons: dict[int, str] = {}
        started = time.monotonic()
        armed = False
        while time.monotonic() - started < 60 * scale + 30:
            if not armed and all(emu.instances[i].destroyed for i in never_ran):
                # The next DELETE, of the resurrecting instance once its deadline passes, does not last.
                emu.faults.update({"resurrect": 1, "resurrect_after": 0.1 * scale})
                armed = True
            result = reap(client, now=time.time, patience=patience, sleep=time.sleep)
            for r in result.reaped:
                passes[r.verdict.instance.id] = passes.get(r.verdict.instance.id, 0) + 1
                reasons.setdefault(r.verdict.instance.id, str(r.verdict.reason))
            if all(emu.instances[i].destroyed for i in ids.values()):
                break
            time.sleep(interval)
        client.close()
        meters = {i: emu.billing(i) for i in ids.values()}
        resurrected = armed and emu.faults.resurrect == 0
        end = time.time()
    target = interval  # one reap interval of GPU time, per 1-GPU instance
    rows = []
    for name, iid in ids.items():
        m = meters[iid]
        # Without a reaper, an instance that reached running would bill on until someone noticed.
        unreaped = max(0.0, end - m["deadline"]) * m["num_gpus"] if m["running_seconds"] > 0 else 0.0
        rows.append(
            [
                name,
                reasons.get(iid, "not reaped"),
                round(m["gpu_seconds_past_deadline"], 3),
                f">= {unreaped:.2f}" if unreaped else "0",
                passes.get(iid, 0),
                "yes" if m["actual_status"] == "destroyed" else "NO",
            ]
        )
    worst = max(r[2] for r in rows)
    all_gone = all(r[5] == "yes" for r in rows)
    return Figure(
        key="reap",
        title=f"Reaping: GPU-seconds billed past the deadline (reap every {interval:g} s)",
        baseline="no reaper: each instance bills on past its deadline until someone notices",
        target=f"<= {target:g} GPU-s past the deadline per instance (one reap interval), every one destroyed",
        columns=["scenario", "reaped as", "GPU-s past deadline", "no reaper (so far)", "reap passes", "gone"],
        rows=rows,
        headline=f"worst {worst:.2f} GPU-s past a deadline over {len(rows)} scenarios "
        f"({'all destroyed' if all_gone else 'some still there'})",
        met=all_gone and worst <= target,
        extra={
            "interval_s": interval,
            "max_runtime_s": RUNTIME_S,
            "boot_allowance_s": BOOT_S,
            "resurrection_fired": resurrected,
        },
        notes=[
            f"deadline = created + {RUNTIME_S} s max_runtime + {BOOT_S} s boot allowance, whole seconds",
            "the resurrecting instance comes back 0.1 s after its first DELETE, within the verify look "
            f"({'it did come back' if resurrected else 'the fault did not fire'})",
            "the meter samples every 50 ms",
        ],
    )
