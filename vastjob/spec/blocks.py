"""The blocks of a job spec as typed, frozen records (offer, instance, repo, setup, remotes, datasets, steps,
run, shutdown), the durations and names they use, and the canonical JSON a spec hash is taken of."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# The instance label `vastjob:<name>:<spec hash>` and the job names it can hold (what the schema allows).
LABEL_PREFIX = "vastjob:"
JOB_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
ShutdownVerb = Literal["destroy", "stop", "keep"]
BOOT_ALLOWANCE_S = 15 * 60  # shutdown.boot_allowance by default
KEEP_STOPPED_S = 3 * 86_400  # shutdown.keep_stopped_for by default
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str | int) -> int:
    """Seconds in a duration such as `12h`, `30m`, `90s`, `1h30m` or a bare number of seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is negative")
        return text
    text = str(text).strip()
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration such as 90s, 30m, 12h or 1h30m")
    days, hours, minutes, seconds = (int(g.lstrip("0") or "0") if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def canonical_json(data: Any) -> str:
    """The one serialisation that spec and step hashes are computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class GpuFilter:
    """Which GPUs an offer must have."""

    names: tuple[str, ...]
    count: int
    min_vram_gb: float | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GpuFilter:
        return cls(tuple(d.get("names", ())), int(d.get("count", 1)), d.get("min_vram_gb"))


@dataclass(frozen=True)
class OfferSpec:
    """What may be rented and at what price."""

    gpu: GpuFilter
    max_price_per_hour: float
    min_reliability: float | None = None
    min_cuda: str | None = None
    min_inet_down_mbps: float | None = None
    regions: tuple[str, ...] = ()
    datacenter_only: bool = False
    verified_only: bool = True
    interruptible: bool = False
    bid_margin: float = 0.1
    order: tuple[str, ...] = ("price",)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OfferSpec:
        return cls(
            gpu=GpuFilter.from_dict(d.get("gpu", {})),
            max_price_per_hour=float(d["max_price_per_hour"]),
            min_reliability=d.get("min_reliability"),
            min_cuda=None if d.get("min_cuda") is None else str(d["min_cuda"]),
            min_inet_down_mbps=d.get("min_inet_down_mbps"),
            regions=tuple(d.get("regions", ())),
            datacenter_only=bool(d.get("datacenter_only", False)),
            verified_only=bool(d.get("verified_only", True)),
            interruptible=bool(d.get("interruptible", False)),
            bid_margin=float(d.get("bid_margin", 0.1)),
            order=tuple(d.get("order", ("price",))),
        )


@dataclass(frozen=True)
class InstanceSpec:
    """The container: image and disk."""

    image: str
    disk_gb: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InstanceSpec:
        return cls(image=d["image"], disk_gb=float(d.get("disk_gb", 50)))


@dataclass(frozen=True)
class RepoSpec:
    """The repository to clone, checked out at `commit` when pinned, else at `ref`."""

    url: str
    ref: str
    dir: str
    token_secret: str | None = None
    commit: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], workdir: str) -> RepoSpec:
        url = d["url"]
        default_dir = workdir.rstrip("/") + "/" + url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        return cls(
            url=url,
            ref=str(d.get("ref", "main")),
            dir=d.get("dir", default_dir),
            token_secret=d.get("token_secret"),
            commit=d.get("commit"),
        )


@dataclass(frozen=True)
class SetupSpec:
    """What to install before running: apt packages, pip argument lists, shell commands."""

    apt: tuple[str, ...] = ()
    pip: tuple[tuple[str, ...], ...] = ()
    commands: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SetupSpec:
        return cls(
            apt=tuple(d.get("apt", ())),
            pip=tuple(tuple(a) for a in d.get("pip", ())),
            commands=tuple(d.get("commands", ())),
        )


@dataclass(frozen=True)
class RemoteSpec:
    """An rclone remote set up through RCLONE_CONFIG_<NAME>_* variables, options from values or secrets."""

    name: str
    type: str
    options: tuple[tuple[str, str], ...] = ()
    secret_options: tuple[tuple[str, str], ...] = ()  # (option, secret name)

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> RemoteSpec:
        return cls(
            name=name,
            type=d["type"],
            options=tuple(sorted(d.get("options", {}).items())),
            secret_options=tuple(sorted(d.get("secrets", {}).items())),
        )


@dataclass(frozen=True)
class Dataset:
    """One dataset: where it comes from, where it goes (relative to the repo dir), how it is checked."""

    name: str
    source: str
    dest: str
    min_bytes: int | None = None
    sha256: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (link path, target)
    retries: int = 3
    timeout_s: int | None = None

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> Dataset:
        return cls(
            name=name,
            source=d["source"],
            dest=d.get("dest", "."),
            min_bytes=d.get("min_bytes"),
            sha256=d.get("sha256"),
            links=tuple(d.get("links", {}).items()),
            retries=int(d.get("retries", 3)),
            timeout_s=_opt_duration(d.get("timeout")),
        )


@dataclass(frozen=True)
class UserStep:
    """A step the user added to the graph."""

    id: str
    run: str
    needs: tuple[str, ...] = ()
    retries: int = 0
    timeout_s: int | None = None
    keep_processes: bool = False  # what the command leaves running lives until the job ends

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UserStep:
        return cls(
            id=d["id"],
            run=d["run"],
            needs=tuple(d.get("needs", ())),
            retries=int(d.get("retries", 0)),
            timeout_s=_opt_duration(d.get("timeout")),
            keep_processes=d.get("keep_processes") is True,
        )


@dataclass(frozen=True)
class RunSpec:
    """The training command and its watchdog."""

    command: str
    max_runtime_s: int | None = None
    retries: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        return cls(
            command=d["command"],
            max_runtime_s=_opt_duration(d.get("max_runtime")),
            retries=int(d.get("retries", 0)),
        )


@dataclass(frozen=True)
class ShutdownSpec:
    """What happens to the instance when the job ends: destroy | stop | keep."""

    on_success: ShutdownVerb = "destroy"
    on_failure: ShutdownVerb = "stop"
    boot_allowance_s: int = BOOT_ALLOWANCE_S  # how long reaching running may take; part of the deadline
    keep_stopped_for_s: int = KEEP_STOPPED_S  # how long `reap` keeps a stopped instance

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShutdownSpec:
        return cls(
            on_success=d.get("on_success", "destroy"),
            on_failure=d.get("on_failure", "stop"),
            boot_allowance_s=parse_duration(d.get("boot_allowance", BOOT_ALLOWANCE_S)),
            keep_stopped_for_s=parse_duration(d.get("keep_stopped_for", KEEP_STOPPED_S)),
        )


def _opt_duration(value: str | int | None) -> int | None:
    return None if value is None else parse_duration(value)
