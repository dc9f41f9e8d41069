"""What a multi-node job (`nodes` > 1) adds to its script: the variables torchrun reads, the rendezvous step
after gpu-check, the run step's peer check, and the static fragment and helper that carry them out.

A single-node job gets nothing from here: every function returns nothing for it, so its script is
byte-for-byte what it was.
"""

from __future__ import annotations

import base64
import gzip
import re
from dataclasses import replace
from functools import cache
from importlib import resources

from vastjob.compile.lowering import Step
from vastjob.errors import RenderError
from vastjob.spec.distributed import PROVIDED
from vastjob.spec.model import JobSpec

RENDEZVOUS = "rendezvous"
HELPER_PREFIX = "VJ_MN"  # the helper, gzip+base64, in env entries VJ_MN000, VJ_MN001, ...
# Beyond the rendezvous timeout, the step's own bound leaves the helper time to say why it failed.
_STEP_MARGIN_S = 60
_DOCSTRING = re.compile(r'^\s*"""[^\n]*"""$')


def multinode(job: JobSpec) -> bool:
    """Whether the job runs on more than one node."""
    return job.nodes > 1


@cache
def _fragment() -> str:
    text = resources.files("vastjob.compile").joinpath("rendezvous.sh").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines()[1:]]
    return "\n".join(ln for ln in lines if ln and not ln.startswith("#")) + "\n"


@cache
def helper_source() -> str:
    """peers.py as the nodes get it: no module docstring, docstrings, comments or blank lines."""
    text = resources.files("vastjob.compile").joinpath("peers.py").read_text(encoding="utf-8")
    body = text.split('"""', 2)[2]  # after the module docstring
    kept = [
        ln.rstrip()
        for ln in body.splitlines()
        if ln.strip() and not ln.strip().startswith("#") and not _DOCSTRING.match(ln)
    ]
    return "\n".join(kept) + "\n"


def helper_env() -> dict[str, str]:
    """The create env entries that carry the helper to every node, gzip+base64 cut in Vast-sized parts
    (`VJ_MN000`, `VJ_MN001`, ...): too big for the onstart, it travels beside it."""
    from vastjob.compile import chunked

    data = base64.b64encode(gzip.compress(helper_source().encode(), compresslevel=9, mtime=0)).decode()
    return chunked.cut(data, HELPER_PREFIX)


def fragment(job: JobSpec) -> str:
    """The rendezvous and peer-check functions, for a multi-node job only."""
    return _fragment() if multinode(job) else ""


def runtime_calls(job: JobSpec) -> set[str]:
    """Runtime functions the fragment calls (so their sections of runtime.sh are kept)."""
    return {"vj_sh"} if multinode(job) else set()


def settings(job: JobSpec) -> list[str]:
    """The variables every step sees: set here, or (MASTER_ADDR) read from what the rendezvous found."""
    if not multinode(job):
        return []
    taken = [k for k, _ in job.env if k in PROVIDED]
    if taken:
        raise RenderError(f"env {', '.join(taken)}: vastjob sets these on every node of a multi-node job")
    d, per_node = job.distributed, job.offer.gpu.count
    return [
        f"VJ_PEER={d.peer_timeout_s} VJ_RDV={d.rendezvous_timeout_s}",
        f"export NNODES={job.nodes} NODE_RANK=${{VASTJOB_NODE_RANK:-0}} NPROC_PER_NODE={per_node}",
        f"export WORLD_SIZE={job.nodes * per_node} MASTER_PORT={d.port} NCCL_SOCKET_IFNAME=eth0",
        "export VASTJOB_NONCE=${VASTJOB_NONCE:-} MASTER_ADDR=${MASTER_ADDR:-}",
        '[[ ! -e $VJ_RUN/master ]] || read -r MASTER_ADDR <"$VJ_RUN/master"',
        # torchrun reads its options from PET_<OPTION> too: a bare `torchrun train.py` needs no flags.
        "export PET_NNODES=$NNODES PET_NODE_RANK=$NODE_RANK PET_NPROC_PER_NODE=$NPROC_PER_NODE",
        "export PET_MASTER_ADDR=$MASTER_ADDR PET_MASTER_PORT=$MASTER_PORT",
    ]


def adjust(job: JobSpec, steps: list[Step]) -> list[Step]:
    """The steps with the rendezvous after gpu-check (what waited on gpu-check waits on it) and the run
    step's command under the peer check; unchanged for a single-node job."""
    if not multinode(job):
        return steps
    d = job.distributed
    meet = Step(
        RENDEZVOUS,
        RENDEZVOUS,
        ("vj_mn_meet",),
        needs=("gpu-check",),
        timeout_s=d.rendezvous_timeout_s + _STEP_MARGIN_S,
        resumable=False,
        summary=f"{job.nodes} nodes meet on the overlay; peer check every second, bound {d.peer_timeout_s}s",
        spec_path="$.distributed",
    )
    out: list[Step] = []
    for s in steps:
        needs = tuple(RENDEZVOUS if n == "gpu-check" else n for n in s.needs)
        body = tuple("vj_mn_run" + b[len("vj_sh") :] if s.kind == "run" else b for b in s.body)
        out.append(replace(s, needs=needs, body=body))
        if s.id == "gpu-check":
            out.append(meet)
    return out
