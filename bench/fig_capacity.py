"""Capacity: the largest job that still renders within Vast's limits on the create body, and runs end to end
in the emulator (every limit enforced), against what the inline onstart alone could carry.

Jobs grow along one path: n datasets (a local rclone remote), 2n/5 user steps and 160n bytes of commands
(hex digests: they compress about as badly as real commands), so n = 50 is the target of 50 datasets,
20 steps and 8 KB of commands.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Figure

TARGET_N = 50
ENDED = ("destroyed", "stopped")
TODAY = (4, 3)  # datasets and user steps of the largest burgers job the inline onstart could carry


def shape(n: int) -> tuple[int, int, int]:
    """Datasets, user steps and bytes of commands at point `n` of the growth path."""
    return n, max(1, 2 * n // 5), 160 * n


def capacity_doc(datasets: int, steps: int, command_bytes: int, bucket: Path) -> dict[str, Any]:
    """A job of `datasets` datasets (files written under `bucket`) and `steps` user steps whose commands
    add up to at least `command_bytes`; each step appends a line to steps.txt, run counts lines and files."""
    sets = {}
    for n in range(datasets):
        sets[f"shard-{n:03d}"] = {
            "source": f"store:{bucket}/shard_{n:03d}.bin",
            "dest": f"data/shard_{n:03d}.bin",
            "min_bytes": 1000,
        }
    per = max(command_bytes // max(steps, 1), 40)
    step_list = []
    for n in range(steps):
        command, i = f"echo step {n} >>steps.txt", 0
        while len(command) < per:
            command += f" && : {hashlib.sha256(f'{n}.{i}'.encode()).hexdigest()}"
            i += 1
        step_list.append({"id": f"step-{n:02d}", "run": command, "needs": ["setup"]})
    return {
        "version": 1,
        "name": "capacity",
        "workdir": "/workspace/cap",
        "offer": {"gpu": {"names": ["RTX 4090"], "count": 1, "min_vram_gb": 20}, "max_price_per_hour": 2.0},
        "instance": {"image": "python:3.11-slim", "disk_gb": 20},
        "remotes": {"store": {"type": "local"}},
        "datasets": sets,
        "steps": step_list,
        "run": {
            "command": "wc -l <steps.txt >count.txt && ls data | wc -l >>count.txt",
            "max_runtime": "10m",
        },
        "shutdown": {"on_success": "destroy", "on_failure": "stop"},
    }


def write_bucket(bucket: Path, datasets: int) -> None:
    """The files the datasets of `capacity_doc` download."""
    bucket.mkdir(parents=True, exist_ok=True)
    for n in range(datasets):
        (bucket / f"shard_{n:03d}.bin").write_bytes(n.to_bytes(2, "big") * 600)


def _job(n: int, bucket: Path) -> Any:
    from vastjob.spec.model import JobSpec

    return JobSpec.from_document(capacity_doc(*shape(n), bucket), source="capacity.yaml")


def fits(n: int, bucket: Path, *, inline_only: bool = False) -> Any:
    """The payload of point `n` (None when refused); with `inline_only`, None unless the inline form fits."""
    from vastjob.compile.transport import render_payload
    from vastjob.errors import RenderError

    try:
        payload = render_payload(_job(n, bucket))
    except RenderError:
        return None
    return None if inline_only and payload.form != "inline" else payload


def largest(bucket: Path, *, inline_only: bool = False, top: int = 4000) -> int:
    """The largest point of the path that renders (in the inline form only, when asked); 0 when none."""
    low, high = 0, top
    while low < high:  # size grows with n, so the points that render are a prefix of the path
        mid = (low + high + 1) // 2
        if fits(mid, bucket, inline_only=inline_only) is not None:
            low = mid
        else:
            high = mid - 1
    return low


def run_job(n: int, folder: Path) -> tuple[bool, float, str]:
    """Apply point `n` to a fresh emulator and follow it to its end: whether every step, dataset and the
    run happened and it destroyed itself, the seconds it took, and the last state seen."""
    from vastjob.emulator import Emulator
    from vastjob.vast.apply import Applier, ApplyOptions
    from vastjob.vast.client import RetryPolicy, VastClient

    datasets, steps, _ = shape(n)
    bucket = folder / "bucket"
    write_bucket(bucket, datasets)
    job = _job(n, bucket)
    started = time.perf_counter()
    with Emulator(sandbox=folder / "sandbox", n_offers=300, step_seconds=0.05, kill_delay=0.2) as emu:
        policy = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.1)
        result = Applier(
            job,
            lambda: VastClient(emu.api_key, emu.url, retry=policy),
            options=ApplyOptions(yes=True, wait=True, poll_s=0.05),
        ).run()
        iid = int(result.instance_id or 0)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and emu.instances[iid].actual_status not in ENDED:
            time.sleep(0.1)
        state = str(emu.instances[iid].actual_status)
        count = emu.sandbox / str(iid) / "workspace/cap/count.txt"
        seen = count.read_text().split() if count.exists() else []
    return state == "destroyed" and seen == [str(steps), str(datasets)], time.perf_counter() - started, state


def measure(*, run: bool = True, top: int = 4000) -> Figure:
    """Find both ceilings by rendering, then run the target and the largest job in the emulator."""
    with tempfile.TemporaryDirectory(prefix="vastjob-capacity-") as tmp:
        folder = Path(tmp)
        bucket = folder / "bucket"
        inline_max = largest(bucket, inline_only=True, top=top)
        chunked_max = largest(bucket, top=top)
        rows: list[list[Any]] = []
        ran: dict[int, bool | None] = {}
        points = (("inline only (before)", inline_max), ("target", TARGET_N), ("largest", chunked_max))
        for label, n in points:
            payload = fits(n, bucket) if n else None
            ok, took, state = None, 0.0, "-"
            if run and payload is not None and n not in ran:
                ok, took, state = run_job(n, folder / f"run-{n}")
            ran.setdefault(n, ok)
            runs = "-" if ran[n] is None else ("yes" if ran[n] else f"no ({state})")
            rows.append(
                [
                    label,
                    *shape(n),
                    payload.form if payload else "refused",
                    payload.budget.summary() if payload else "-",
                    runs,
                    f"{took:.1f} s" if took else "-",
                ]
            )
        renders = fits(TARGET_N, bucket) is not None
    target_ok = renders and (not run or ran.get(TARGET_N) is True)
    d, s, c = shape(chunked_max)
    return Figure(
        key="capacity",
        title="Capacity: the largest job that renders and runs end to end in the emulator",
        baseline=f"today's inline onstart: {TODAY[0]} datasets, {TODAY[1]} steps of burgers512; "
        f"{inline_max} datasets on this path",
        target=f"a job with {TARGET_N} datasets, {shape(TARGET_N)[1]} steps and {shape(TARGET_N)[2]} bytes "
        "of commands runs",
        columns=["job", "datasets", "user steps", "command bytes", "form", "budget", "runs", "time"],
        rows=rows,
        headline=f"up to {d} datasets, {s} steps, {c} bytes of commands "
        f"({chunked_max / max(inline_max, 1):.0f}x the inline form's {inline_max} datasets on the same path)",
        met=target_ok,
        extra={
            "inline_max": inline_max,
            "chunked_max": chunked_max,
            "ran": {str(k): v for k, v in ran.items()},
        },
        notes=["what ends the path: the env's 32768 characters in all (the onstart stays under 1 KB)"],
    )
