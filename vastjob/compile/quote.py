"""How spec values become bash words: always through `shlex.quote`, absolute paths hung off `$VJ_ROOT`."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable

from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec

# fullmatch: with match, `$` would also accept a name that ends in a newline.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def word(value: str) -> str:
    """One bash word that expands to exactly `value`."""
    return shlex.quote(value)


def words(values: Iterable[str]) -> str:
    """Several bash words, space separated."""
    return " ".join(word(v) for v in values)


def path(value: str) -> str:
    """A path: a relative one stays relative to the step's folder; an absolute one moves under the root."""
    if value.startswith("/"):
        return '"$VJ_ROOT"' + word(value)
    return word(value)


def env_name(name: str, what: str) -> str:
    """A variable name, checked: names are written into bash unquoted, so only identifiers pass."""
    if not _NAME.fullmatch(name):
        raise RenderError(f"{what} {name!r} is not a valid environment variable name")
    return name


def base_dir(job: JobSpec) -> str:
    """The folder steps run in, as an absolute path: a relative repo dir or workdir counts from `/`."""
    return posixpath.join("/", job.workdir, job.base_dir)
