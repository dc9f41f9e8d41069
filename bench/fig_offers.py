"""Offer search end to end against the local emulator: `vastjob offers JOB` vs the official
`vastai search offers` CLI with the same query, both as fresh processes against the same market."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import BIN, ROOT, Figure, seconds, time_commands

JOB = ROOT / "jobs" / "burgers512.yaml"
LIMIT = 256
# A profile of vastjob's time, each part a fresh process: what the interpreter, the CLI, loading the job,
# and the HTTP client cost before any request is sent. (The CLI blocks httpx's own command line.)
_HTTPX = "import sys; sys.modules['httpx._main'] = None; import httpx"
PARTS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import click": [sys.executable, "-c", "import click"],
    "vastjob validate JOB": [str(BIN / "vastjob"), "validate", str(JOB)],
    "import httpx": [sys.executable, "-c", _HTTPX],
    "import httpx; httpx.Client()": [sys.executable, "-c", _HTTPX + "; httpx.Client()"],
}


def vastai_query(job: Any) -> list[str]:
    """The official CLI's arguments for the same search vastjob sends for `job` (its query language:
    GPU names with _ for spaces, gpu_ram in GB, storage for pricing in GB)."""
    offer = job.offer
    terms = [
        f"num_gpus={offer.gpu.count}",
        "rentable=true",
        "rented=false",
        "external=false",
        f"dph_total<={offer.max_price_per_hour}",
    ]
    names = [n.replace(" ", "_") for n in offer.gpu.names]
    terms.append(f"gpu_name={names[0]}" if len(names) == 1 else f"gpu_name in [{','.join(names)}]")
    if offer.gpu.min_vram_gb is not None:
        terms.append(f"gpu_ram>={offer.gpu.min_vram_gb}")
    if offer.min_cuda is not None:
        terms.append(f"cuda_max_good>={offer.min_cuda}")
    if offer.min_reliability is not None:
        terms.append(f"reliability>={offer.min_reliability}")
    if offer.min_inet_down_mbps is not None:
        terms.append(f"inet_down>={offer.min_inet_down_mbps}")
    if offer.verified_only:
        terms.append("verified=true")
    return [
        "search",
        "offers",
        "--no-default",
        " ".join(terms),
        "--order",
        "dph_total",
        "--storage",
        str(job.instance.disk_gb),
        "--limit",
        str(LIMIT),
    ]


def _ids(argv: Sequence[str], env: dict[str, str]) -> list[int]:
    out = subprocess.run(list(argv), env=env, capture_output=True, text=True, check=True).stdout
    return [int(o["id"]) for o in json.loads(out)]


def measure(*, repeat: int = 10, n_offers: int = 2000) -> Figure:
    """Serve a generated market of `n_offers` and time both clients searching it."""
    from vastjob.emulator import Emulator
    from vastjob.spec.load import load_job

    job = load_job(JOB)
    with (
        tempfile.TemporaryDirectory(prefix="vastjob-bench-") as tmp,
        Emulator(seed=0, n_offers=n_offers, sandbox=Path(tmp) / "sandbox") as emu,
    ):
        # Both clients find the key and URL the documented way, and neither reads the user's real config.
        env = {**os.environ, "HOME": tmp, "VAST_URL": emu.url, "VAST_API_KEY": emu.api_key}
        query = vastai_query(job)
        commands = {
            "vastjob offers JOB": [
                str(BIN / "vastjob"),
                "offers",
                str(JOB),
                "-o",
                "json",
                "--limit",
                str(LIMIT),
            ],
            "vastai search offers": [
                str(BIN / "vastai"),
                "--url",
                emu.url,
                "--api-key",
                emu.api_key,
                "--raw",
                *query,
            ],
        }
        ours_ids = _ids(commands["vastjob offers JOB"], env)
        theirs_ids = _ids(commands["vastai search offers"], env)
        timings = time_commands(commands, repeat=repeat, env=env)
        parts = time_commands(PARTS, repeat=max(3, repeat // 2), env=env, cwd=ROOT)
    ours, base = timings["vastjob offers JOB"], timings["vastai search offers"]
    ratio = ours.median / base.median
    rows = [
        [t.label, seconds(t.median), seconds(min(t.runs)), f"{t.median / base.median:.2f}x", n]
        for t, n in ((ours, len(ours_ids)), (base, len(theirs_ids)))
    ]
    same = ours_ids[:1] == theirs_ids[:1]
    return Figure(
        key="offers",
        title=f"Offer search end to end (emulator with {n_offers} offers, median of {repeat})",
        baseline="the official CLI, vastai search offers QUERY --raw, with the same query, same emulator",
        target="vastjob <= 0.3x the official CLI's time",
        columns=["command", "median", "min", "time vs baseline", "offers listed"],
        rows=rows,
        headline=f"vastjob takes {ratio:.3f}x the official CLI's time ({seconds(ours.median)} vs "
        f"{seconds(base.median)}); same best offer: {'yes' if same else 'no'}",
        met=ratio <= 0.3,
        timings=[ours, base],
        extra={
            "ratio": ratio,
            "same_best_offer": same,
            "vastai_args": query,
            "parts_s": {k: t.median for k, t in parts.items()},
        },
        notes=[
            "profile (medians, fresh processes): "
            + ", ".join(f"{k} {seconds(t.median)}" for k, t in parts.items())
        ],
    )
