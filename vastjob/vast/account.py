"""Which account vastjob talks to: the API key (flag, environment, the official CLI's files) and the URL,
and what to say when that key is refused."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx

from vastjob.errors import UserError

DEFAULT_URL = "https://console.vast.ai"


class ApiKey(str):
    """A key that remembers where it was found (`--api-key`, `VAST_API_KEY` or a file's path)."""

    origin: str

    def __new__(cls, key: str, origin: str) -> ApiKey:
        """The key text, carrying its origin for messages that must say which key was refused."""
        made = super().__new__(cls, key)
        made.origin = origin
        return made

    def __repr__(self) -> str:  # a key never shows, even in a traceback
        return f"ApiKey(origin={self.origin!r})"


def resolve_api_key(
    explicit: str | None = None, environ: Mapping[str, str] | None = None, home: Path | None = None
) -> ApiKey:
    """The key from `--api-key`, else `VAST_API_KEY`, else the official CLI's key files."""
    env = os.environ if environ is None else environ
    if explicit:
        return _checked(explicit.strip(), "--api-key")
    if env.get("VAST_API_KEY"):
        return _checked(env["VAST_API_KEY"].strip(), "VAST_API_KEY")
    home = Path(env.get("HOME", str(Path.home()))) if home is None else home
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    for path in (config / "vastai" / "vast_api_key", home / ".vast_api_key"):
        if path.is_file():
            key = path.read_text(encoding="utf-8", errors="replace").strip()
            if key:
                return _checked(key, str(path))
    raise UserError(
        "no Vast API key: pass --api-key, set VAST_API_KEY, or write it to ~/.config/vastai/vast_api_key"
    )


def _checked(key: str, origin: str) -> ApiKey:
    # An HTTP header holds printable ASCII only; anything else would end in a traceback mid-request.
    if not all("!" <= ch <= "~" for ch in key):
        raise UserError(
            f"the Vast API key from {origin} contains spaces, line breaks or non-ASCII characters, "
            "which no API key has: copy it again from your Vast account"
        )
    return ApiKey(key, origin)


def resolve_base_url(environ: Mapping[str, str] | None = None) -> str:
    """The API base URL from `VAST_URL`, else the public console."""
    env = os.environ if environ is None else environ
    url = (env.get("VAST_URL") or DEFAULT_URL).rstrip("/")
    parts = httpx.URL(url)
    if parts.scheme not in ("http", "https") or not parts.host:
        raise UserError(f"VAST_URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.host not in ("127.0.0.1", "localhost", "::1"):
        # The key would cross the network in clear text; plain http is only for a local emulator.
        raise UserError(f"VAST_URL {url!r} is plain http to another machine: use https")
    return url


def refused_key_hint(status: int, origin: str | None) -> str:
    """What to tell a user whose key got a 401 or 403: which key it was, and how to try without one."""
    where = {"--api-key": "--api-key", "VAST_API_KEY": "$VAST_API_KEY"}.get(origin or "", origin)
    which = f"the API key from {where}" if where else "the API key"
    what = "was refused" if status == 401 else "may not do this"
    return (
        f"{which} {what}: check it on your Vast account's keys page (order: --api-key, $VAST_API_KEY, "
        "~/.config/vastai/vast_api_key), or try vastjob with no account: vastjob apply JOB --local"
    )
