"""The chunked form: the script (gzip+base64) and long secrets (base64) cut into numbered env entries, and
the small onstart that puts them back together on the instance.

The onstart checks that every entry is there, decodes the script into a new file, compares its sha256 with
the one written into the onstart, and only then moves it into place and starts it: a missing, cut or
reordered entry leaves the job not started. A long secret is joined and decoded in bash variables and
exported to the script's environment: it is never written to a file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from vastjob.compile.pack import SCRIPT_PATH
from vastjob.vast.limits import ENV_ENTRY_MAX

SCRIPT_PREFIX = "VJ_P"  # VJ_P000, VJ_P001, ...: the script
SECRET_PREFIX = "VJ_S"  # VJ_S0_000, ...: the first long secret; VJ_S1_000, ...: the second
# A chunk entry is filled to 250 characters (key and value), 6 under the limit: should Vast count the `=`,
# the `-e ` of the flag form or quotes as well, chunks still fit.
ENTRY_FILL = ENV_ENTRY_MAX - 6
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class LongSecret:
    """A secret that travels in parts: its name, the prefix of its entries and how many there are."""

    name: str
    prefix: str
    count: int


def script_data(script: str) -> str:
    """The script as it travels: gzip (level 9, no timestamp, so the same bytes each time) then base64."""
    return base64.b64encode(gzip.compress(script.encode(), compresslevel=9, mtime=0)).decode()


def cut(data: str, prefix: str) -> dict[str, str]:
    """`data` as entries `<prefix>000`, `<prefix>001`, ... of at most ENTRY_FILL characters each (the
    env's total allows about 130; the budget refuses more, so three digits are always enough)."""
    width = ENTRY_FILL - len(prefix) - 3
    parts = [data[i : i + width] for i in range(0, len(data), width)] or [""]
    return {f"{prefix}{n:03d}": part for n, part in enumerate(parts)}


def secret_entries(index: int, name: str, value: str) -> tuple[LongSecret, dict[str, str]]:
    """A long secret's entries (its value base64-encoded, so any character survives) and how to join them."""
    if not _NAME.fullmatch(name):  # it is written into the onstart as `export NAME=...`
        raise ValueError(f"secret name {name!r} is not a variable name")
    prefix = f"{SECRET_PREFIX}{index}_"
    entries = cut(base64.b64encode(value.encode()).decode(), prefix)
    return LongSecret(name, prefix, len(entries)), entries


def join(env: dict[str, str], prefix: str) -> str:
    """The data cut into `env` under `prefix`, in order (the Python side of what the onstart does)."""
    parts, n = [], 0
    while f"{prefix}{n:03d}" in env:
        parts.append(env[f"{prefix}{n:03d}"])
        n += 1
    return "".join(parts)


_HEAD = f"""\
set -o pipefail
d=${{VASTJOB_ROOT:-}}{SCRIPT_PATH.rsplit("/", 1)[0]}
vj_fail() {{ rm -f "$d/new"; echo "vastjob: $1; the job was not started" >&2; exit 1; }}
vj_join() {{
  local i k
  vj_v=
  for ((i = 0; i < $2; i++)); do
    printf -v k '%s%03d' "$1" "$i"
    [ -n "${{!k-}}" ] || vj_fail "env entry $k is missing"
    vj_v+=${{!k}}
    unset "$k"
  done
}}
"""


# When the job cannot be started, on_failure still applies: the instance's own request (the key on curl's
# stdin), retried with backoff until the answer says success, a bounded number of times. Short: the onstart
# stays well within its limit.
_OFF = """\
vj_off() {{
  [ "${{CONTAINER_API_KEY-}}" ] || return
  for i in 5 30 300 300 300; do
    echo "Authorization: Bearer $CONTAINER_API_KEY" | curl -sm30 -H @- {request} \
"$VASTJOB_API_URL/api/v0/instances/$CONTAINER_ID/" | grep -q '"success": *true' && return
    sleep "$i"
  done
}}
"""
_REQUEST = {
    "stop": "-XPUT -H 'Content-Type: application/json' -d '{\"state\": \"stopped\"}'",
    "destroy": "-XDELETE",
}


def onstart(
    title: str, script: str, chunks: int, secrets: Sequence[LongSecret], on_failure: str = "keep"
) -> str:
    """The bash onstart of the chunked form: join, decode and export each long secret, then join, decode
    and check the script against its sha256, and start it detached as the inline form does; when it
    cannot, it requests `on_failure` (stop or destroy) of the API itself."""
    digest = hashlib.sha256(script.encode()).hexdigest()
    head = f"#!/bin/bash\n# {title}: the script in {chunks} env entries {SCRIPT_PREFIX}000.."
    lines = [head, _HEAD.rstrip()]
    if on_failure in _REQUEST:
        lines += [_OFF.format(request=_REQUEST[on_failure]).rstrip()]
        lines[1] = lines[1].replace(">&2; exit 1; }", ">&2; vj_off; exit 1; }")
    for s in secrets:
        lines += [
            f"vj_join {s.prefix} {s.count}",
            f'v=$(printf %s "$vj_v" | base64 -d && echo .) || vj_fail "secret {s.name} does not decode"',
            f'export {s.name}="${{v%.}}"',
        ]
    lines += [
        f"vj_join {SCRIPT_PREFIX} {chunks}",
        'mkdir -p "$d" || vj_fail "cannot make $d"',
        'printf %s "$vj_v" | base64 -d | gunzip >"$d/new" || vj_fail "the script does not decode"',
        'vj_v=$(sha256sum <"$d/new")',
        f'[ "${{vj_v%% *}}" = {digest} ] || vj_fail "the script does not match its sha256"',
        'mv "$d/new" "$d/job.sh" || vj_fail "cannot write $d/job.sh"',
        "unset vj_v v",
        'nohup bash "$d/job.sh" </dev/null &',
    ]
    return "\n".join(lines) + "\n"
