"""The generated part of the script for `outputs:` and `logs:`: what is uploaded, where, and how often.

The runtime's `push` section does the uploads (bounded, retried) from the exit path, before the shutdown;
this module writes the job's own lines: `vj_outputs END` (the uploads an ending wants), `vj_syncs` (the
periodic syncs, in the background while the job runs) and the variables the result file names.
"""

from __future__ import annotations

from vastjob.compile.quote import path, word
from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec
from vastjob.spec.outputs import OutputSpec

# As for every duration the script computes with: far below where bash arithmetic wraps.
_MAX_SECONDS = 2**31 - 1


def seconds(value: int | None, what: str) -> int:
    """A duration in seconds for the script, refused when bash could not compute with it."""
    if value is None or not 0 < value <= _MAX_SECONDS:
        raise RenderError(f"{what} of {value} s is out of range: 1 to {_MAX_SECONDS} s")
    return value


def _push(out: OutputSpec) -> str:
    fields = [word(out.name), str(out.retries), str(seconds(out.timeout_s, f"output {out.name}: timeout"))]
    return "vj_push " + " ".join([*fields, path(out.path), word(out.to.text)])


def _upload(out: OutputSpec) -> str:
    line = f"{_push(out)} || " + ("r=1" if out.required else ":")
    if out.when == "both":
        return line
    # Only after the ending it names: the test passes (and nothing is uploaded) after the other one.
    return f"[[ $1 != {out.when} ]] || {line}"


def output_lines(job: JobSpec) -> list[str]:
    """The settings and functions for the job's outputs and logs; none when it has neither."""
    if not job.outputs and job.logs is None:
        return []
    lines = [
        f"VJ_COMMIT={word(job.pinned_commit or '')}",
        f"VJ_LOGS={word(job.logs.text if job.logs else '')}",
        "vj_outputs() {",
        "  local r=0",
        *(f"  {_upload(out)}" for out in job.outputs),
        "  return $r",
        "}",
    ]
    periodic = [out for out in job.outputs if out.every_s]
    if periodic:
        lines.append("vj_syncs() {")
        for out in periodic:
            every = seconds(out.every_s, f"output {out.name}: every")
            lines += [f"  vj_every {every} {_push(out).removeprefix('vj_push ')} &", "  VJ_SYNC+=($!)"]
        lines.append("}")
    return lines


def output_calls(job: JobSpec) -> set[str]:
    """The runtime functions the job's output lines call (what `runtime_text` keeps)."""
    calls = {"vj_push"} if job.outputs or job.logs is not None else set()
    return calls | ({"vj_every"} if any(out.every_s for out in job.outputs) else set())
