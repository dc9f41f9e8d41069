"""The bootstrap sent as Vast's onstart: the script gzip+base64, written under the root, started detached."""

from __future__ import annotations

import base64
import gzip

from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec

BOOTSTRAP_LIMIT = 4048  # characters Vast accepts in an instance's onstart field
SCRIPT_PATH = "/root/vastjob/job.sh"  # under $VASTJOB_ROOT on the instance


# When the script cannot be written or started, the bootstrap itself applies on_failure: the instance's
# own request, the key on curl's stdin (as the script sends it), with curl's retries. Kept short: every
# character counts against the onstart's limit.
_FALLBACK = {
    "stop": '-XPUT -d\'{"state":"stopped"}\'',
    "destroy": "-XDELETE",
}


def pack(script: str, title: str, on_failure: str = "keep") -> str:
    """A short sh script that writes `script` to SCRIPT_PATH and starts it in the background with nohup.

    Each step runs only if the one before it succeeded: gunzip checks the whole text (CRC and length), and
    a write that fails (a full disk) fails it, so a partial script never replaces the one in place and is
    never started; then `on_failure` (stop or destroy) is requested of the API. No setsid: the script
    stays in the onstart process group, and its output goes where onstart's goes."""
    data = base64.b64encode(gzip.compress(script.encode(), compresslevel=9, mtime=0)).decode()
    folder = SCRIPT_PATH.rsplit("/", 1)[0]
    fallback = ""
    if on_failure in _FALLBACK:
        fallback = (
            '||echo "Authorization: Bearer $CONTAINER_API_KEY"|curl -sm30 --retry 9 -H@- '
            f'{_FALLBACK[on_failure]} "$VASTJOB_API_URL/api/v0/instances/$CONTAINER_ID/"'
        )
    return (
        f"#!/bin/sh\n# {title}\n"
        f"d=${{VASTJOB_ROOT-}}{folder}\n"
        # E ends the here-document: base64 has no line "E", nor any $, ` or \ to expand. The braces
        # keep the fallback for a script that was never started (not one that ends with a failure).
        'mkdir -p "$d"&&base64 -d <<E|gunzip >"$d/new"&&mv "$d/new" "$d/job.sh"&&'
        '{ nohup bash "$d/job.sh" </dev/null & }' + fallback + "\n"
        f"{data}\nE\n"
    )


def unpack(bootstrap: str) -> str:
    """The script a bootstrap carries (for tests and `vastjob render` checks)."""
    data = bootstrap.split("<<E", 1)[1].split("\n", 2)[1]
    return gzip.decompress(base64.b64decode(data)).decode()


def bootstrap_for(job: JobSpec, script: str) -> str:
    """The onstart text apply sends for a job's script; RenderError when over BOOTSTRAP_LIMIT, by how much."""
    title = "vastjob"  # every character counts: the version is in the script's own header
    text = pack(script, title, job.shutdown.on_failure)
    if len(text) > BOOTSTRAP_LIMIT:
        raise RenderError(
            f"job {job.name}: the onstart bootstrap is {len(text)} characters, over Vast's limit of "
            f"{BOOTSTRAP_LIMIT} by {len(text) - BOOTSTRAP_LIMIT} characters; "
            "shorten commands, env or datasets"
        )
    return text
