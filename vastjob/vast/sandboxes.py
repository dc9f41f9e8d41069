"""Where `apply --local` runs a job: a fresh folder under the user's cache, removed after a success.

The cache is `$XDG_CACHE_HOME/vastjob/local` (else `~/.cache/vastjob/local`), so nothing piles up in /tmp.
Only folders made here are ever removed; a `--sandbox DIR` the user named is always kept.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from vastjob.userfiles import cache_root


def new_sandbox(environ: Mapping[str, str] | None = None) -> Path:
    """A new, empty folder for one local run, under `cache_root()/local`."""
    parent = cache_root(environ) / "local"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="run-", dir=parent))


def finish(sandbox: Path, *, succeeded: bool, keep: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Remove a sandbox made by `new_sandbox` after a success unless `keep`; True when it was removed.

    A failed run keeps its sandbox for reading its log; a folder outside the cache is never touched.
    """
    parent = (cache_root(environ) / "local").resolve()
    mine = sandbox.resolve().parent == parent
    if keep or not succeeded or not mine:
        return False
    shutil.rmtree(sandbox, ignore_errors=True)
    return not sandbox.exists()
