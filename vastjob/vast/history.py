"""The specs this machine applied, kept by hash in the user's cache, so a replace can say what changed.

An instance's label carries only its spec's hash; the resolved document behind each hash that `apply`
rented is written to `<cache>/vastjob/specs/<hash>.json`. A spec applied from another machine is unknown
here, and the plan says so instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vastjob.spec.model import JobSpec, canonical_json
from vastjob.userfiles import cache_root, write_whole

_ABSENT = object()


@dataclass(frozen=True)
class FieldChange:
    """One spec field that differs: its dotted path and both values (None: the field is not set)."""

    path: str
    old: Any
    new: Any

    def render(self) -> str:
        """`offer.max_price_per_hour: 2.5 -> 3.0`, each value as compact JSON, long ones cut."""
        return f"{self.path}: {_shown(self.old)} -> {_shown(self.new)}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"path": self.path, "old": self.old, "new": self.new}


def spec_file(spec_hash: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the document of a spec hash is kept."""
    return cache_root(environ) / "specs" / f"{spec_hash}.json"


def remember(job: JobSpec, environ: Mapping[str, str] | None = None) -> Path | None:
    """Keep the job's resolved document under its hash; None when the cache cannot be written (no harm)."""
    target = spec_file(job.spec_hash, environ)
    try:
        write_whole(target, canonical_json(job.document))
    except OSError:
        return None
    return target


def recall(spec_hash: str, environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The document applied under `spec_hash` from this machine, or None when it is not known here."""
    try:
        data = json.loads(spec_file(spec_hash, environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[FieldChange]:
    """Every field that differs between two documents, by dotted path, in the new document's key order."""
    changes: list[FieldChange] = []
    for key in [*new, *(k for k in old if k not in new)]:
        path = f"{prefix}{key}"
        was, now = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if isinstance(was, Mapping) and isinstance(now, Mapping):
            changes.extend(changed_fields(was, now, f"{path}."))
        elif was != now:
            changes.append(FieldChange(path, _value(was), _value(now)))
    return changes


def _value(value: Any) -> Any:
    return None if value is _ABSENT else value


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= 60 else text[:57] + "..."
