"""Rules about what a job may set and how far: reserved variable names, bounded durations and prices, and
GPU models Vast would not recognise. Each yields findings like the rules in `rules.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vastjob.spec.durations import MAX_DURATION_S, MAX_DURATION_TEXT, duration_seconds
from vastjob.spec.gpus import GPUS, close_models, same_model, slip_threshold
from vastjob.spec.nodes import Path, describe
from vastjob.spec.reserved import why_reserved
from vastjob.spec.rules import Finding


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def duration_places(doc: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    """Every duration field of a document with its value (whatever its type)."""
    yield ("run", "max_runtime"), _dict(doc.get("run")).get("max_runtime")
    for name, dataset in _dict(doc.get("datasets")).items():
        yield ("datasets", name, "timeout"), _dict(dataset).get("timeout")
    for i, step in enumerate(_list(doc.get("steps"))):
        yield ("steps", i, "timeout"), _dict(step).get("timeout")


def check_reserved(doc: dict[str, Any]) -> Iterator[Finding]:
    """Names in `env` or `secrets` that bash, the script or its tools own."""
    for name in _dict(doc.get("env")):
        why = why_reserved(name)
        if why:
            yield Finding(("env", name), f"{name} cannot be set by a job: {why}", at_key=True)
    for i, name in enumerate(_list(doc.get("secrets"))):
        why = why_reserved(name) if isinstance(name, str) else None
        if why:
            yield Finding(("secrets", i), f"{name} cannot be set by a job: {why}")
    path = _dict(doc.get("env")).get("PATH")
    if isinstance(path, str) and ("$" in path or not {"/usr/bin", "/bin"} <= set(path.split(":"))):
        yield Finding(
            ("env", "PATH"),
            "PATH must list /usr/bin and /bin (the script and its shutdown run from them), and is not "
            "expanded ($PATH stays as written): write every folder out",
        )


def check_bounds(doc: dict[str, Any]) -> Iterator[Finding]:
    """Durations of at most a month (in text form; the schema bounds whole seconds), and a run with none."""
    for path, value in duration_places(doc):
        if isinstance(value, str):
            seconds = duration_seconds(value)
            if seconds is not None and seconds > MAX_DURATION_S:
                longest = f"{MAX_DURATION_TEXT}, the longest allowed"
                yield Finding(path, f"{describe(value)} is longer than {longest}")
    run = doc.get("run")
    if isinstance(run, dict) and "max_runtime" not in run:
        yield Finding(
            ("run",),
            "no max_runtime: nothing but the command ending bounds this job's time and cost",
            at_key=True,
            warning=True,
        )


def check_price(doc: dict[str, Any]) -> Iterator[Finding]:
    """A price cap so far above any GPU's price that it looks like a misplaced decimal point."""
    offer = _dict(doc.get("offer"))
    cap, count = offer.get("max_price_per_hour"), _dict(offer.get("gpu")).get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        count = 1
    if isinstance(cap, int | float) and not isinstance(cap, bool) and cap >= slip_threshold(count):
        yield Finding(
            ("offer", "max_price_per_hour"),
            f"${cap:g}/h is at least ${slip_threshold(count):g}/h, ten times what the dearest GPU vastjob "
            f"knows costs for {count} GPU{'s' if count != 1 else ''}; is the decimal point in place?",
            warning=True,
        )


def check_gpu_names(doc: dict[str, Any]) -> Iterator[Finding]:
    """A model Vast spells differently is an error (it matches names exactly); an unknown one a warning."""
    gpu = _dict(_dict(doc.get("offer")).get("gpu"))
    for i, name in enumerate(_list(gpu.get("names"))):
        if not isinstance(name, str) or name in GPUS:
            continue
        path = ("offer", "gpu", "names", i)
        known = same_model(name)
        if known is not None:
            yield Finding(path, f"{describe(name)}: Vast names this GPU {known!r}, and matches names exactly")
            continue
        close = close_models(name)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        yield Finding(
            path,
            f"{describe(name)} is not a GPU model vastjob knows{hint} (a model newer than vastjob works "
            "if Vast spells it so)",
            warning=True,
        )


LIMIT_RULES = (check_reserved, check_bounds, check_price, check_gpu_names)
