"""Secret values for a job, read at apply time from the environment, then `.env` files.

The order, first found wins: the environment (a variable set to the empty string counts as set), the `.env`
next to the spec, then the `.env` at the root of the git repository holding the spec. The files are read with
python-dotenv's parser: quotes, `export `, comments and multi-line quoted values (a PEM key) as in a shell;
values are taken literally (no `${VAR}` expansion).

Values only ever leave this module inside the create body's `env` object; everything printable carries
names and where each came from, never a value.
"""

from __future__ import annotations

import io
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


def dotenv_paths(job: JobSpec) -> list[Path]:
    """The `.env` files read, in order: next to the spec, then at the root of its git repository."""
    near = dotenv_path(job)
    if near is None:
        return []
    root = next((f for f in (near.parent, *near.parent.parents) if (f / ".git").exists()), None)
    # `.git` is a folder in a clone and a file in a worktree or a submodule: either marks the root.
    return [near] if root is None or root == near.parent else [near, root / ".env"]


def parse_dotenv(text: str) -> dict[str, str]:
    """`KEY=value` bindings as a shell reads them (python-dotenv's parser); lines it cannot read are skipped,
    and a bare `KEY` with no `=` sets nothing."""
    from dotenv.parser import parse_stream  # only the commands that read secrets pay for the import

    return {
        b.key: b.value
        for b in parse_stream(io.StringIO(text))
        if not b.error and b.key is not None and b.value is not None
    }


def read_secrets(job: JobSpec, environ: Mapping[str, str] | None = None) -> Secrets:
    """Every required value (environment first, then `.env`), or a UserError naming every missing one."""
    found, missing = find_secrets(job, environ)
    if missing:
        where = " or ".join(["the environment", *map(str, dotenv_paths(job))])
        raise UserError(
            f"missing secret{'s' if len(missing) > 1 else ''} for job {job.name}: "
            f"{', '.join(missing)} (set {'them' if len(missing) > 1 else 'it'} in {where})"
        )
    return found


def find_secrets(job: JobSpec, environ: Mapping[str, str] | None = None) -> tuple[Secrets, list[str]]:
    """The values found (environment first, then each `.env` in order) and the names of the missing ones."""
    env = os.environ if environ is None else environ
    names = list(job.secret_names)
    sources: list[tuple[str, Mapping[str, str]]] = [("environment", env)]
    sources += [(str(p), _read_dotenv(p)) for p in dotenv_paths(job)] if names else []
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        # Set to the empty string is still set: an empty value is the user's choice, not an omission.
        for origin, found in sources:
            if name in found:
                values[name], origins[name] = found[name], origin
                break
        else:
            missing.append(name)
    return Secrets(values, origins), missing


def _read_dotenv(path: Path) -> Mapping[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}") from None
    return parse_dotenv(text)
