"""Bad hosts, remembered: a machine whose instance never started (or failed its gpu-check) stays the
cheapest offer and would be rented again at once; apply's ranking skips it for a while.

Local state, one JSON file under the user's XDG state folder (`$XDG_STATE_HOME/vastjob/bad_hosts.json`,
by default `~/.local/state/vastjob/bad_hosts.json`): `{machine id: {"at": epoch, "why": text}}`. Losing
it costs nothing but a retry on a bad host, so a file that cannot be read is set aside, never fatal.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vastjob.userfiles import state_root, write_whole

if TYPE_CHECKING:
    from vastjob.vast.query import Candidate

REMEMBER_S = 24 * 3600  # how long a machine is skipped after its instance failed
# The runtime's log line when the gpu-check step fails (`TIME [gpu-check] failed, exit code N`).
GPU_CHECK_FAILED = re.compile(r"\[gpu-check\] failed")


@dataclass(frozen=True)
class BadHost:
    """One remembered machine: when it failed and how."""

    machine_id: int
    at: float
    why: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"machine_id": self.machine_id, "at": int(self.at), "why": self.why}


def gpu_check_failed(log: str) -> bool:
    """Whether a job's log says its gpu-check failed: the host does not have the GPUs it offers."""
    return bool(GPU_CHECK_FAILED.search(log))


def avoid(
    candidates: Sequence[Candidate], bad: Mapping[int, BadHost]
) -> tuple[list[Candidate], list[Candidate]]:
    """The candidates on machines not remembered as bad, and those skipped, both in their order."""
    kept: list[Candidate] = []
    skipped: list[Candidate] = []
    for cand in candidates:
        machine = cand.offer.raw.get("machine_id")
        (skipped if isinstance(machine, int) and machine in bad else kept).append(cand)
    return kept, skipped


def remember_offer(hosts: BadHosts | None, cand: Candidate, why: str) -> None:
    """Remember the machine of an offer whose instance never ran (nothing without a store or a machine)."""
    machine = cand.offer.raw.get("machine_id")
    if hosts is not None and isinstance(machine, int):
        hosts.remember(machine, why)


@dataclass
class BadHosts:
    """The remembered machines in one state file; entries older than `remember_s` are forgotten."""

    path: Path
    remember_s: float = REMEMBER_S
    now: Callable[[], float] = time.time

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> BadHosts:
        """The store under the user's XDG state folder."""
        return cls(state_root(environ) / "bad_hosts.json")

    def active(self) -> dict[int, BadHost]:
        """The machines to skip now, by machine id."""
        limit = self.now() - self.remember_s
        return {m: h for m, h in self._load().items() if h.at >= limit}

    def remember(self, machine_id: int, why: str) -> None:
        """Remember that a machine's instance failed now (the latest failure wins)."""
        hosts = self.active()
        hosts[int(machine_id)] = BadHost(int(machine_id), self.now(), why[:200])
        data = {str(m): {"at": h.at, "why": h.why} for m, h in sorted(hosts.items())}
        write_whole(self.path, json.dumps(data, indent=1) + "\n")  # whole, should two commands write at once

    def _load(self) -> dict[int, BadHost]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                int(m): BadHost(int(m), float(v["at"]), str(v.get("why", ""))) for m, v in dict(data).items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            # Unreadable: kept aside for whoever wants to look, and the store starts afresh.
            with contextlib.suppress(OSError):
                self.path.replace(self.path.with_suffix(".unreadable"))
            return {}
