"""Where vastjob keeps what it remembers on this machine (the XDG cache and state folders), and how a file
there is written: whole, then renamed into place, so a reader or a second command never sees half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def _xdg(variable: str, default: str, environ: Mapping[str, str] | None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get(variable) or ""
    # The XDG spec ignores a relative path: it would depend on where the command runs.
    if not os.path.isabs(base):
        base = str(Path(env.get("HOME") or Path.home()) / default)
    return Path(base) / "vastjob"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """vastjob's folder in the user's cache: `$XDG_CACHE_HOME/vastjob`, else `~/.cache/vastjob`."""
    return _xdg("XDG_CACHE_HOME", ".cache", environ)


def state_root(environ: Mapping[str, str] | None = None) -> Path:
    """vastjob's state folder: `$XDG_STATE_HOME/vastjob`, else `~/.local/state/vastjob`."""
    return _xdg("XDG_STATE_HOME", ".local/state", environ)


def write_whole(target: Path, text: str) -> None:
    """Write `text` to a temporary file beside `target`, then rename it over `target`; OSError on failure
    (the temporary file is removed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
