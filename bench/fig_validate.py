"""Validation throughput: `vastjob validate DIR` over generated valid specs vs `check-jsonschema` with the
same schema over the same files, each as one process over all of them."""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.harness import BIN, ROOT, Figure, seconds, time_commands

SCHEMA = ROOT / "schemas" / "job.schema.json"
# GPU name -> its VRAM in GB: a spec's min_vram_gb must be reachable by one of its names.
GPUS = {
    "RTX 4090": 24,
    "RTX 3090": 24,
    "A100 SXM4": 80,
    "H100 SXM": 80,
    "H200 NVL": 141,
    "L40S": 48,
    "RTX 6000Ada": 48,
}


def spec_document(n: int, rng: random.Random) -> dict[str, Any]:
    """A standalone (no `extends`) valid job spec, different for each n, using most of the spec's sections."""
    name = f"gen-{n:05d}"
    gpus = rng.sample(sorted(GPUS), rng.randint(1, 3))
    doc: dict[str, Any] = {
        "version": 1,
        "name": name,
        "workdir": "/workspace",
        "offer": {
            "gpu": {
                "names": gpus,
                "count": rng.choice([1, 2, 4, 8]),
                "min_vram_gb": rng.choice([16, min(GPUS[g] for g in gpus)]),
            },
            "max_price_per_hour": round(rng.uniform(0.3, 12.0), 2),
            "min_reliability": round(rng.uniform(0.9, 0.99), 3),
            "min_cuda": rng.choice(["12.1", "12.4", "12.8"]),
            "regions": rng.sample(["US", "CA", "DE", "NL", "SE", "GB"], rng.randint(0, 3)),
            "verified_only": rng.random() < 0.7,
            "order": rng.sample(
                ["price", "dlperf_per_dollar", "reliability", "inet_down"], rng.randint(1, 2)
            ),
        },
        "instance": {
            "image": "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-devel",
            "disk_gb": rng.choice([50, 100, 200]),
        },
        "repo": {"url": f"https://example.com/lab/{name}.git", "ref": "main", "dir": f"/workspace/{name}"},
        "setup": {
            "apt": rng.sample(["git", "rclone", "build-essential", "curl", "tmux"], rng.randint(1, 4)),
            "pip": [["-e", ".[dev]"]],
            "commands": [f"echo preparing {name}"],
        },
        "remotes": {"b2": {"type": "b2", "secrets": {"account": "B2_KEY_ID", "key": "B2_APP_KEY"}}},
        "datasets": {
            f"shard{k}": {
                "source": f"b2:bucket/{name}/shard{k}.h5",
                "dest": "data/",
                "min_bytes": 1000 * (k + 1),
                "retries": 2,
                "timeout": "2h",
            }
            for k in range(rng.randint(1, 3))
        },
        "env": {
            "TRAIN_STAGE": rng.choice(["all", "operator", "diffusion"]),
            "SEED": str(n),
            "RESET_CACHE": rng.choice(["0", "1"]),
        },
        "secrets": ["B2_KEY_ID", "B2_APP_KEY", "WANDB_API_KEY"],
        "steps": [
            {
                "id": "precompute",
                "run": "python scripts/precompute.py",
                "needs": ["setup"],
                "retries": 1,
                "timeout": "30m",
            }
        ],
        "run": {
            "command": f"python train.py --config configs/{name}.yaml",
            "max_runtime": f"{rng.randint(1, 48)}h",
        },
        "shutdown": {"on_success": "destroy", "on_failure": rng.choice(["stop", "destroy", "keep"])},
    }
    return doc


def write_specs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` valid spec files in `folder` (created), deterministic for a seed."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        target = folder / f"gen-{n:05d}.yaml"
        target.write_text(yaml.safe_dump(spec_document(n, rng), sort_keys=False), encoding="utf-8")
        paths.append(target)
    return paths


def reports_positions(folder: Path) -> str:
    """The first error line vastjob prints for a broken copy of one spec: FILE:LINE:COL: $.path: message."""
    broken = folder / "broken"
    broken.mkdir(exist_ok=True)
    doc = spec_document(0, random.Random(1))
    doc["offer"]["gpu"]["count"] = 0
    doc["shutdown"]["on_sucess"] = doc["shutdown"].pop("on_success")
    target = broken / "broken.yaml"
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [str(BIN / "vastjob"), "validate", str(target)], capture_output=True, text=True, check=False
    )
    lines = proc.stderr.strip().splitlines() or ["(no error printed)"]
    return lines[0].replace(str(folder) + "/", "")


def measure(*, count: int = 1000, repeat: int = 3) -> Figure:
    """Time both validators over the same `count` generated files."""
    with tempfile.TemporaryDirectory(prefix="vastjob-bench-") as tmp:
        folder = Path(tmp) / "specs"
        paths = write_specs(folder, count)
        timings = time_commands(
            {
                "vastjob validate": [str(BIN / "vastjob"), "validate", str(folder)],
                "check-jsonschema": [
                    str(BIN / "check-jsonschema"),
                    "--schemafile",
                    str(SCHEMA),
                    *map(str, paths),
                ],
            },
            repeat=repeat,
        )
        sample = reports_positions(Path(tmp))
    ours, base = timings["vastjob validate"], timings["check-jsonschema"]
    speedup = base.median / ours.median
    rows = [
        [t.label, seconds(t.median), f"{count / t.median:,.0f}", f"{base.median / t.median:.2f}x"]
        for t in (ours, base)
    ]
    return Figure(
        key="validate",
        title=f"Validation throughput ({count} generated specs, one process each)",
        baseline="check-jsonschema --schemafile schemas/job.schema.json over the same files",
        target="vastjob >= 3x faster, still reporting FILE:LINE:COL positions",
        columns=["command", "median", "specs/s", "speed vs baseline"],
        rows=rows,
        headline=f"vastjob {speedup:.2f}x faster ({seconds(ours.median)} vs {seconds(base.median)}); "
        f"an error reads: {sample}",
        met=speedup >= 3 and ":" in sample.split(" ", 1)[0],
        timings=[ours, base],
        extra={"count": count, "speedup": speedup, "sample_error": sample},
    )
