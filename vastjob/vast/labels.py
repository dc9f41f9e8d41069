"""Instance labels `vastjob:<name>:<spec hash>`: how apply stays idempotent and how commands find a job."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vastjob.errors import UserError
from vastjob.spec.model import JOB_NAME, LABEL_PREFIX


@dataclass(frozen=True)
class Label:
    """A parsed vastjob label."""

    name: str
    spec_hash: str

    def __str__(self) -> str:
        return f"{LABEL_PREFIX}{self.name}:{self.spec_hash}"


def parse_label(label: str | None) -> Label | None:
    """The job name and hash in a label, or None for a label vastjob did not write."""
    if not label or not label.startswith(LABEL_PREFIX):
        return None
    parts = label[len(LABEL_PREFIX) :].split(":")
    if len(parts) != 2 or not JOB_NAME.fullmatch(parts[0]) or not parts[1]:
        return None
    return Label(parts[0], parts[1])


def job_prefix(name: str) -> str:
    """The label prefix shared by every instance of one job, whatever its spec hash."""
    return f"{LABEL_PREFIX}{name}:"


def check_name(name: str) -> str:
    """A job name as given on the command line, refused when it cannot be one."""
    if not JOB_NAME.fullmatch(name):
        raise UserError(
            f"{name!r} is neither a spec file nor a job name ([a-z0-9][a-z0-9-]*, at most 48 chars)"
        )
    return name


def of_job(instances: Iterable[Mapping[str, Any]], name: str | None) -> list[dict[str, Any]]:
    """The instances labelled for job `name` (every vastjob instance when name is None), oldest first."""
    found = []
    for inst in instances:
        parsed = parse_label(inst.get("label"))
        if parsed is not None and (name is None or parsed.name == name):
            found.append(dict(inst))
    return sorted(found, key=lambda i: int(i.get("id") or 0))
