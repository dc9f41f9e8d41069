"""What a job leaves behind: its `outputs:` (paths copied off the instance) and `logs:` (where its log goes).

A destination is text naming where files go. Today every destination is an rclone `remote:path` with a
remote from `remotes:`; `Destination.kind` says so, so that another kind (a Vast cloud copy) can be told
apart later without changing what a spec already means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vastjob.spec.durations import duration_seconds

When = Literal["success", "failure", "both"]
DestinationKind = Literal["rclone"]
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT_S = 600


@dataclass(frozen=True)
class Destination:
    """Where files go: `remote:path` (kind rclone)."""

    text: str
    kind: DestinationKind = "rclone"

    @property
    def remote(self) -> str:
        """The remote's name (the text before the first colon)."""
        return self.text.split(":", 1)[0]

    def joined(self, *parts: str) -> str:
        """This destination with path parts added below it (`remote:a/b` + `c` is `remote:a/b/c`)."""
        head, _, rest = self.text.partition(":")
        path = "/".join([rest.rstrip("/"), *parts]) if rest.rstrip("/") else "/".join(parts)
        return f"{head}:{path}"


@dataclass(frozen=True)
class OutputSpec:
    """One named output: a path on the instance (relative to the base dir), where it goes and when."""

    name: str
    path: str
    to: Destination
    when: When = "both"
    every_s: int | None = None
    required: bool = True
    retries: int = DEFAULT_RETRIES
    timeout_s: int = DEFAULT_TIMEOUT_S

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> OutputSpec:
        """Build from a validated `outputs.NAME` block."""
        every = d.get("every")
        timeout = d.get("timeout")
        return cls(
            name=name,
            path=str(d["path"]),
            to=Destination(str(d["to"])),
            when=d.get("when", "both"),
            every_s=None if every is None else _seconds(every),
            required=bool(d.get("required", True)),
            retries=int(d.get("retries", DEFAULT_RETRIES)),
            timeout_s=DEFAULT_TIMEOUT_S if timeout is None else _seconds(timeout),
        )

    def wanted(self, end: Literal["success", "failure"]) -> bool:
        """Whether this output is uploaded after a job that ended so."""
        return self.when in (end, "both")


def outputs_of(doc: Mapping[str, Any]) -> tuple[OutputSpec, ...]:
    """The `outputs:` of a validated document, in the order written."""
    return tuple(OutputSpec.from_dict(str(n), d) for n, d in (doc.get("outputs") or {}).items())


def logs_of(doc: Mapping[str, Any]) -> Destination | None:
    """The `logs:` destination of a validated document, if any."""
    logs = doc.get("logs")
    return None if logs is None else Destination(str(logs))


def _seconds(value: str | int) -> int:
    if isinstance(value, int):
        return value
    seconds = duration_seconds(value)
    if seconds is None:
        raise ValueError(f"{value!r} is not a duration")
    return seconds
