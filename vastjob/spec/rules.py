"""What the schema cannot say: cross-references between fields, step graph checks, durations, GPU memory."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vastjob.spec.durations import duration_seconds
from vastjob.spec.gpus import GPUS
from vastjob.spec.nodes import Path, describe, named
from vastjob.spec.output_rules import destinations

BUILTIN_STEPS = ("gpu-check", "apt", "clone", "pip", "setup", "run")
URL_SCHEMES = ("https", "hf", "wandb")
_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Plain http only to this machine (a local server, for `apply --local`), where nothing crosses a network.
_LOOPBACK_HTTP = re.compile(r"^http://(?:127(?:\.[0-9]{1,3}){3}|localhost|\[::1\])(?:[:/]|$)")


def source_scheme(source: str) -> str | None:
    """The scheme of a `scheme://` dataset source as URL_SCHEMES names it (http to this machine counts as
    https), or None for any other source (`remote:path`)."""
    match = _SCHEME.match(source)
    if match is None:
        return None
    return "https" if _LOOPBACK_HTTP.match(source) else match.group(1)


# Memory per GPU in GB of the models whose size Vast's name tells: a VRAM floor no named GPU can meet.
GPU_VRAM_GB: dict[str, float] = {n: g.vram_gb for n, g in GPUS.items() if g.vram_gb is not None}


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one place of the document; `at_key` points at the key rather than its value."""

    path: Path
    message: str
    at_key: bool = False
    warning: bool = False  # reported beside the problems; the spec stays valid


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {named(close[0])}?" if close else ""


def _names(doc: dict[str, Any]) -> Iterator[Finding]:
    secrets = [s for s in _list(doc.get("secrets")) if isinstance(s, str)]
    for name in _dict(doc.get("env")):
        if name in secrets:
            yield Finding(
                ("env", name),
                f"{named(name)} is both a plain variable and a secret; keep it in one place",
                at_key=True,
            )
    repo = _dict(doc.get("repo"))
    token = repo.get("token_secret")
    if isinstance(token, str) and _SHELL_NAME.match(token) and token not in secrets:
        yield Finding(
            ("repo", "token_secret"), f"{named(token)} is not listed in secrets{_suggest(token, secrets)}"
        )
    for rname, remote in _dict(doc.get("remotes")).items():
        for option, secret in _dict(_dict(remote).get("secrets")).items():
            if isinstance(secret, str) and _SHELL_NAME.match(secret) and secret not in secrets:
                yield Finding(
                    ("remotes", rname, "secrets", option),
                    f"{named(secret)} is not listed in secrets{_suggest(secret, secrets)}",
                )


def _sources(doc: dict[str, Any]) -> Iterator[Finding]:
    remotes = list(_dict(doc.get("remotes")))
    for name, dataset in _dict(doc.get("datasets")).items():
        source = _dict(dataset).get("source")
        if not isinstance(source, str) or not source:
            continue
        path = ("datasets", name, "source")
        scheme = source_scheme(source)
        if scheme:
            if scheme not in URL_SCHEMES:
                yield Finding(
                    path,
                    f"{scheme}:// sources are not supported (use https://, hf://, "
                    "wandb:// or an rclone remote)",
                )
            continue
        remote, sep, _ = source.partition(":")
        if not sep:
            yield Finding(
                path, f"{describe(source)} names no remote; write remote:path, https://, hf:// or wandb://"
            )
        elif remote not in remotes:
            hint = _suggest(remote, remotes) or (
                f"; add it under remotes (known: {', '.join(remotes)})"
                if remotes
                else "; add it under remotes"
            )
            yield Finding(path, f"remote {named(remote)} is not defined{hint}")


def _durations(doc: dict[str, Any]) -> Iterator[Finding]:
    places: list[tuple[Path, Any]] = [(("run", "max_runtime"), _dict(doc.get("run")).get("max_runtime"))]
    places += [
        (("datasets", n, "timeout"), _dict(d).get("timeout")) for n, d in _dict(doc.get("datasets")).items()
    ]
    places += [
        (("steps", i, "timeout"), _dict(s).get("timeout")) for i, s in enumerate(_list(doc.get("steps")))
    ]
    dist = _dict(doc.get("distributed"))
    places += [(("distributed", k), dist.get(k)) for k in ("peer_timeout", "rendezvous_timeout")]
    for path, value in places:
        if isinstance(value, str):
            seconds = duration_seconds(value)  # None: the schema's pattern reports it
            if seconds == 0:
                yield Finding(path, f"{describe(value)} is zero; a duration must be longer than that")


def _steps(doc: dict[str, Any]) -> Iterator[Finding]:
    datasets = [f"data:{n}" for n in _dict(doc.get("datasets"))]
    seen: dict[str, int] = {}
    graph: dict[str, list[str]] = {}
    index_of: dict[str, int] = {}
    for i, step in enumerate(_list(doc.get("steps"))):
        sid = _dict(step).get("id")
        if not isinstance(sid, str):
            continue
        if sid in BUILTIN_STEPS or sid.startswith("data:"):
            yield Finding(("steps", i, "id"), f"{named(sid)} is the id of a built-in step; choose another")
        elif sid in seen:
            yield Finding(("steps", i, "id"), f"step id {named(sid)} is already used by step {seen[sid] + 1}")
        else:
            seen[sid] = i
    known = [*seen, *BUILTIN_STEPS[:-1], *datasets]
    for i, step in enumerate(_list(doc.get("steps"))):
        sid = _dict(step).get("id")
        needs = [n for n in _list(_dict(step).get("needs")) if isinstance(n, str)]
        for j, need in enumerate(_list(_dict(step).get("needs"))):
            if not isinstance(need, str):
                continue
            if need == "run":
                yield Finding(
                    ("steps", i, "needs", j), "a step cannot need 'run': run comes after every step"
                )
            elif need not in known:
                yield Finding(("steps", i, "needs", j), f"unknown step {named(need)}{_suggest(need, known)}")
        if isinstance(sid, str) and seen.get(sid) == i:
            graph[sid] = [n for n in needs if n in seen]
            index_of[sid] = i
    yield from _cycles(graph, index_of)


def _cycles(graph: dict[str, list[str]], index_of: dict[str, int]) -> Iterator[Finding]:
    """Each cycle once, named from its first step; depth-first without recursion, for long chains."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    stack: list[str] = []
    found: set[frozenset[str]] = set()
    for start in graph:
        if start in state:
            continue
        state[start] = 1
        stack.append(start)
        todo: list[Iterator[str]] = [iter(graph.get(start, []))]
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                todo.pop()
                state[stack.pop()] = 2
            elif state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                if frozenset(cycle) not in found:
                    found.add(frozenset(cycle))
                    first = min(cycle, key=lambda s: index_of[s])
                    k = cycle.index(first)
                    ordered = [*cycle[k:], *cycle[:k], first]
                    yield Finding(
                        ("steps", index_of[first], "needs"),
                        "steps need each other in a cycle: " + " -> ".join(ordered),
                    )
            elif nxt not in state:
                state[nxt] = 1
                stack.append(nxt)
                todo.append(iter(graph.get(nxt, [])))


def _gpu(doc: dict[str, Any]) -> Iterator[Finding]:
    gpu = _dict(_dict(doc.get("offer")).get("gpu"))
    names = [n for n in _list(gpu.get("names")) if isinstance(n, str)]
    floor = gpu.get("min_vram_gb")
    if not names or not isinstance(floor, int | float) or isinstance(floor, bool):
        return
    sizes = [GPU_VRAM_GB.get(n) for n in names]
    if all(size is not None for size in sizes) and all(size < floor for size in sizes if size is not None):
        have = ", ".join(f"{n} has {GPU_VRAM_GB[n]:g} GB" for n in names)
        yield Finding(("offer", "gpu", "min_vram_gb"), f"no GPU named can meet {floor:g} GB ({have})")


RULES = (_names, _sources, _durations, _steps, _gpu, destinations)


def check_rules(doc: dict[str, Any]) -> list[Finding]:
    """Every rule's findings on a document that may also have schema errors (wrong types are skipped here)."""
    return [finding for rule in RULES for finding in rule(doc)]
