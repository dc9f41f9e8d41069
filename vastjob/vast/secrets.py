"""Secret values for a job, read at apply time from the environment or the `.env` file next to the spec.

Values only ever leave this module inside the create body's `env` object; everything printable carries
names and where each came from, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vastjob.errors import UserError
from vastjob.spec.model import JobSpec


@dataclass(frozen=True)
class Secrets:
    """Resolved secret values and their origins (`env` or the `.env` path)."""

    values: Mapping[str, str]
    origins: Mapping[str, str]

    def __repr__(self) -> str:  # never show values, even in a traceback
        return f"Secrets(names={sorted(self.values)})"


def dotenv_path(job: JobSpec) -> Path | None:
    """The `.env` file next to the job's spec, when the job came from a file."""
    if job.source.startswith("<"):
        return None
    return Path(job.source).resolve().parent / ".env"


def parse_dotenv(text: str) -> dict[str, str]:
    """`KEY=value` lines; `export ` prefixes, blank lines and `#` comments skipped; quotes removed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def read_secrets(job: JobSpec, environ: Mapping[str, str] | None = None) -> Secrets:
    """Every required value (environment first, then `.env`), or a UserError naming every missing one."""
    found, missing = find_secrets(job, environ)
    if missing:
        path = dotenv_path(job)
        where = f"the environment or {path}" if path is not None else "the environment"
        raise UserError(
            f"missing secret{'s' if len(missing) > 1 else ''} for job {job.name}: "
            f"{', '.join(missing)} (set {'them' if len(missing) > 1 else 'it'} in {where})"
        )
    return found


def find_secrets(job: JobSpec, environ: Mapping[str, str] | None = None) -> tuple[Secrets, list[str]]:
    """The values found (environment first, then `.env`) and the names of the missing ones."""
    env = os.environ if environ is None else environ
    path = dotenv_path(job)
    dotenv = parse_dotenv(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else {}
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    missing: list[str] = []
    for name in job.secret_names:
        if env.get(name):
            values[name], origins[name] = env[name], "environment"
        elif dotenv.get(name):
            values[name], origins[name] = dotenv[name], str(path)
        else:
            missing.append(name)
    return Secrets(values, origins), missing
