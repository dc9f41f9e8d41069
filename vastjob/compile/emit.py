"""The onstart script: a header, the static runtime, then the generated part (variables, env, steps)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from functools import cache
from importlib import resources

from vastjob import __version__
from vastjob.compile import distributed
from vastjob.compile.graph import StepGraph
from vastjob.compile.outputs import output_calls, output_lines
from vastjob.compile.quote import base_dir, env_name, path, word, words
from vastjob.compile.sources import remote_exports
from vastjob.errors import RenderError
from vastjob.spec.model import JOB_NAME, JobSpec

_RESERVED_PREFIXES = ("VJ_", "VASTJOB_")
# Variables the script or its shutdown request rely on: set by a spec, they would break the job or leave
# the instance unable to end its own billing (bash reads the last four from its environment).
_RESERVED = frozenset({"CONTAINER_ID", "CONTAINER_API_KEY", "IFS", "BASH_ENV", "SHELLOPTS", "BASHOPTS"})
# Bash arithmetic wraps at 2**63 (2**64 is 0, which would switch the watchdog off): every number of
# seconds the script computes with stays far below that.
_MAX_SECONDS = 2**31 - 1


# The runtime's parts, in the order they are rendered (one concern each; see runtime.sh's header).
_RUNTIME_FILES = ("runtime.sh", "schedule.sh", "ending.sh")


@cache
def _runtime_source() -> str:
    folder = resources.files("vastjob.compile")
    return "".join(folder.joinpath(name).read_text(encoding="utf-8") for name in _RUNTIME_FILES)


def runtime_text(calls: Iterable[str] | None = None) -> str:
    """The runtime (runtime.sh, schedule.sh, ending.sh) as rendered: no shebang, comments, blank lines or
    indentation (shellcheck directives stay), and only the `#@` sections whose functions are in `calls`
    (all of them when `calls` is None)."""
    wanted = None if calls is None else set(calls)
    kept, keep = [], True
    for line in _runtime_source().splitlines()[1:]:
        bare = line.strip()
        if bare.startswith("#@"):
            names = bare[2:].split()
            keep = not names or wanted is None or any(f"vj_{n}" in wanted for n in names)
        elif keep and bare and (not bare.startswith("#") or bare.startswith("# shellcheck")):
            kept.append(bare)
    return "\n".join(kept) + "\n"


def _own(name: str, what: str) -> str:
    """A variable name the job may set: valid, and not one the script relies on."""
    if env_name(name, what) in _RESERVED or name.startswith(_RESERVED_PREFIXES):
        raise RenderError(f"{what} {name!r}: the onstart script and its shutdown rely on this variable")
    return name


def secret_names(job: JobSpec) -> list[str]:
    """Every secret the script refers to (the job's `secret_names`), each checked as a variable it may set."""
    return [_own(n, "secret") for n in job.secret_names]


def _climbs(p: str) -> bool:
    """Whether an absolute path goes above `/` with `..`: under the script's root it would leave it."""
    depth = 0
    for part in p.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _check(job: JobSpec) -> None:
    """What the script's shape relies on: a name fit for its comments, paths that stay under the root."""
    # The name goes into comments: no newline may end it.
    if not JOB_NAME.fullmatch(job.name):
        raise RenderError(f"job name {job.name!r}: use lowercase letters, digits and '-'")
    base = base_dir(job)
    if _climbs(base):
        raise RenderError(f"the job's folder {base!r} (workdir, repo.dir) goes above / with '..'")
    for ds in job.datasets:
        for what, p in [("dest", ds.dest), *(("link", link) for link, _ in ds.links)]:
            if _climbs(posixpath.join(base, p)):
                start = "" if p.startswith("/") else f" (from {base})"
                raise RenderError(f"dataset {ds.name}: {what} {p!r} goes above / with '..'{start}")


def _seconds(value: int | None, what: str) -> int:
    """A duration in seconds for the script (0: none), refused when bash could not compute with it."""
    if value is not None and not 0 <= value <= _MAX_SECONDS:
        raise RenderError(f"{what} of {value} s is out of range: at most {_MAX_SECONDS} s")
    return value or 0


def _header(job: JobSpec) -> list[str]:
    lines = [
        "#!/usr/bin/env bash",
        f"# vastjob {__version__}: job {job.name}, spec {job.spec_hash}",
    ]
    names = secret_names(job)
    if names:
        lines.append(f"# secrets from the environment, set by vastjob apply: {words(names)}")
    return lines


def _settings(job: JobSpec) -> list[str]:
    lines = [
        f"VJ_JOB={word(job.name)}",
        f"VJ_SPEC_HASH={word(job.spec_hash)}",
        f"VJ_BASE={path(base_dir(job))}",
        f"VJ_MAX_RUNTIME={_seconds(job.run.max_runtime_s, 'run.max_runtime')}",
        f"VJ_ON_SUCCESS={word(job.shutdown.on_success)}",
        f"VJ_ON_FAILURE={word(job.shutdown.on_failure)}",
    ]
    for key, value in job.env:
        if key == "PATH" and ("$" in value or not {"/usr/bin", "/bin"} <= set(value.split(":"))):
            raise RenderError(
                f"env PATH {value!r}: the script and its shutdown need /usr/bin and /bin in it, and values "
                "are not expanded ($PATH stays as written): write every folder out"
            )
        lines.append(f"export {_own(key, 'env key')}={word(value)}")
    return lines + remote_exports(job)


def _steps(graph: StepGraph) -> list[str]:
    index = {s.id: n for n, s in enumerate(graph.steps)}
    lines = []
    for n, s in enumerate(graph.steps):
        if s.kind in ("setup", "user", "run") and any(c in b for b in s.body for c in "$`"):
            # A command field is single-quoted on purpose: its $ and ` are for the shell that runs it.
            lines.append("# shellcheck disable=SC2016")
        lines += [f"vj_s{n}() {{", *(f"  {b}" for b in s.body), "}"]
    for s in graph.steps:
        needs = "".join(f" {index[x]}" for x in s.needs)
        # A step that runs at every start leaves no marker: "-" in place of the name its marker would have.
        marker = graph.hashes[s.id] if s.resumable else "-"
        fields = [word(s.id), marker, str(s.retries), str(_seconds(s.timeout_s, f"step {s.id}: timeout"))]
        lines.append("vj_def " + " ".join(fields) + needs)
    return lines


def emit_script(job: JobSpec, graph: StepGraph) -> str:
    """The full onstart script for a job and its graph: deterministic bytes, every spec value quoted."""
    _check(job)
    head = "\n".join(_header(job)) + "\n"
    tail = [*_settings(job), *distributed.settings(job), *_steps(graph), *output_lines(job), 'vj_main "$@"']
    calls = {line.split(" ", 1)[0] for s in graph.steps for line in s.body}
    calls |= output_calls(job) | distributed.runtime_calls(job)
    return head + runtime_text(calls) + distributed.fragment(job) + "\n".join(tail) + "\n"
