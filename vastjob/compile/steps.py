"""Step kinds: each lowers one section of a job spec into steps of the graph (bash lines plus scheduling)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from vastjob.compile import distributed
from vastjob.compile.lowering import Lowering, Step, StepKind
from vastjob.compile.quote import base_dir, env_name, path, word, words
from vastjob.compile.sources import remote_salt
from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec
from vastjob.spec.rules import BUILTIN_STEPS

# Network steps fail transiently; these are retried by default.
NETWORK_RETRIES = 3
GPU_CHECK_TIMEOUT_S = 120
APT_TIMEOUT_S = 1800
CLONE_TIMEOUT_S = 1800
PIP_TIMEOUT_S = 3600
DATA_TIMEOUT_S = 4 * 3600
_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")


class GpuCheck:
    """`gpu-check`: first, never retried, never skipped: a bad host must fail before anything is paid for."""

    def lower(self, low: Lowering) -> list[Step]:
        """nvidia-smi must list offer.gpu.count GPUs of min_vram_gb (1 GB = 1000 MiB, as offers count)."""
        gpu = low.job.offer.gpu
        mib = round((gpu.min_vram_gb or 0) * 1000)
        return [
            Step(
                "gpu-check",
                "gpu-check",
                (f"vj_gpu_check {gpu.count} {mib}",),
                timeout_s=GPU_CHECK_TIMEOUT_S,
                resumable=False,
                summary=f"{gpu.count} GPU(s) with >= {mib} MiB",
                spec_path="$.offer.gpu",
            )
        ]


def _in_base(p: str, job: JobSpec) -> bool:
    """Whether a dataset path lands in the base folder (the repo), so its step must wait for the clone."""
    base = base_dir(job).rstrip("/") + "/"
    return not p.startswith("/") or p.startswith(base) or p.rstrip("/") + "/" == base


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Apt:
    """`apt`: the spec's packages plus those dataset sources need, each installed only when missing."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step, or none when nothing is asked for."""
        pkgs = _unique([*low.job.setup.apt, *(p for ds in low.job.datasets for p in low.fetch(ds).apt)])
        if not pkgs:
            return []
        return [
            Step(
                "apt",
                "apt",
                (f"vj_apt {words(pkgs)}",),
                needs=("gpu-check",),
                retries=NETWORK_RETRIES,
                timeout_s=APT_TIMEOUT_S,
                summary=" ".join(pkgs),
                spec_path="$.setup.apt",
            )
        ]


class Clone:
    """`clone`: the pinned commit (from apply or repo.commit) or else the ref, fetched and checked out."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step when the job has a repo."""
        repo = low.job.repo
        if repo is None:
            return []
        commit = low.job.pinned_commit or ""
        if commit and not _COMMIT.fullmatch(commit):
            raise RenderError(f"commit {commit!r} is not a commit SHA (7 to 40 hex digits)")
        token = (f"vj_token {env_name(repo.token_secret, 'token_secret')}",) if repo.token_secret else ()
        needs = low.after(["apt"] if "git" in low.job.setup.apt else [])
        # Servers hand out a commit by its full SHA only; an abbreviated one comes with the ref's history.
        fetch = commit if len(commit) == 40 else repo.ref
        line = f"vj_clone {word(repo.url)} {word(fetch)} {word(commit)}"
        return [
            Step(
                "clone",
                "clone",
                (*token, line),
                needs=needs,
                retries=NETWORK_RETRIES,
                timeout_s=CLONE_TIMEOUT_S,
                summary=f"{repo.url} @ {commit or repo.ref}",
                spec_path="$.repo",
            )
        ]


class Pip:
    """`pip`: one `python3 -m pip install` per entry, in the repo folder; then packages sources need."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step, or none when nothing is asked for."""
        entries = [*low.job.setup.pip]
        entries += [(p,) for p in _unique([p for ds in low.job.datasets for p in low.fetch(ds).pip])]
        if not entries:
            return []
        body = tuple(f"vj_pip {words(args)}" for args in entries)
        return [
            Step(
                "pip",
                "pip",
                body,
                needs=low.after(["apt", "clone"]),
                retries=NETWORK_RETRIES,
                timeout_s=PIP_TIMEOUT_S,
                summary="; ".join(" ".join(a) for a in entries),
                spec_path="$.setup.pip",
            )
        ]


class Data:
    """`data:<name>`: one per dataset; it waits for the clone only when it writes inside the repo."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step per dataset, with the source kind's bash, then the links."""
        steps = []
        for ds in low.job.datasets:
            fetch = low.fetch(ds)
            wanted = ["apt"] if fetch.apt else []
            if any(_in_base(p, low.job) for p in (ds.dest, *(link for link, _ in ds.links))):
                wanted.append("clone")
            needs = low.after([*wanted, *(["pip"] if fetch.pip else [])])
            links = tuple(f"vj_link {path(link)} {word(target)}" for link, target in ds.links)
            steps.append(
                Step(
                    f"data:{ds.name}",
                    "data",
                    fetch.lines + links,
                    needs=tuple(needs),
                    retries=ds.retries,
                    timeout_s=ds.timeout_s or DATA_TIMEOUT_S,
                    summary=f"{ds.source} -> {ds.dest}",
                    salt=remote_salt(ds, low.job),
                    spec_path=f"$.datasets.{ds.name}",
                )
            )
        return steps


class Setup:
    """`setup`: the spec's setup commands, after everything is installed."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step when there are commands."""
        commands = low.job.setup.commands
        if not commands:
            return []
        return [
            Step(
                "setup",
                "setup",
                tuple(f"vj_sh {word(c)}" for c in commands),
                needs=low.after(["apt", "clone", "pip"]),
                salt=low.env_salt(),
                summary=f"{len(commands)} command(s)",
                spec_path="$.setup.commands",
            )
        ]


class UserSteps:
    """The spec's own steps; one without `needs` waits for setup (or whatever installs come before it)."""

    def lower(self, low: Lowering) -> list[Step]:
        """One step each, needs as written; a need on a built-in step this job lacks (say `setup` without
        commands) stands for the built-in steps that would have come before it."""
        default = self._resolve(low, ("setup",))
        return [
            Step(
                s.id,
                "user",
                ("vj_keep",) * s.keep_processes + (f"vj_sh {word(s.run)}",),
                needs=self._resolve(low, s.needs) if s.needs else default,
                retries=s.retries,
                timeout_s=s.timeout_s,
                salt=low.env_salt(),
                summary=s.run.splitlines()[0] if s.run else "",
                spec_path=f"$.steps[{n}]",
            )
            for n, s in enumerate(low.job.steps)
        ]

    @staticmethod
    def _resolve(low: Lowering, needs: Sequence[str]) -> tuple[str, ...]:
        out: list[str] = []
        for need in needs:
            if need in _BUILTIN and not low.has(need):
                out += low.after(_BUILTIN[: _BUILTIN.index(need)][1:])
            else:
                out.append(need)
        return _unique(out)


# Built-in steps in the order they wait on each other (run, last, waits on everything).
_BUILTIN = list(BUILTIN_STEPS[:-1])


class Run:
    """`run`: last, after every step nothing else waits for; the watchdog bounds it, not a step timeout."""

    def lower(self, low: Lowering) -> list[Step]:
        """The one training step."""
        needed = {n for s in low.steps for n in s.needs}
        sinks = tuple(s.id for s in low.steps if s.id not in needed)
        run = low.job.run
        return [
            Step(
                "run",
                "run",
                (f"vj_sh {word(run.command)}",),
                needs=sinks,
                retries=run.retries,
                salt=low.env_salt(),
                summary=run.command.splitlines()[0] if run.command else "",
                spec_path="$.run",
            )
        ]


# The kinds in lowering order: each may wait on the steps made before it.
STEP_KINDS: dict[str, StepKind] = {
    "gpu-check": GpuCheck(),
    "apt": Apt(),
    "clone": Clone(),
    "pip": Pip(),
    "data": Data(),
    "setup": Setup(),
    "user": UserSteps(),
    "run": Run(),
}


def lower(job: JobSpec) -> list[Step]:
    """Every step of a job, in lowering order (not yet checked for unknown needs or cycles)."""
    low = Lowering(job)
    for kind in STEP_KINDS.values():
        low.steps.extend(kind.lower(low))
    return distributed.adjust(job, low.steps)
