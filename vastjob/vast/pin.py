"""Resolving the repo's branch or tag to a commit with `git ls-remote`, so an instance runs what was planned.

The command goes through a runner passed in (tests hand in real git against a local bare repo); a token for
a private repo travels in git's environment as an HTTP header, never in argv or the URL.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence

from vastjob.errors import UserError
from vastjob.spec.model import RepoSpec

Runner = Callable[[Sequence[str], Mapping[str, str]], str]
_SHA = re.compile(r"^[0-9a-f]{40}$")


def run_git(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The default runner: run git with extra environment, return stdout, raise UserError on failure."""
    full = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **env}
    try:
        proc = subprocess.run(list(argv), env=full, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"{argv[0]} {argv[1]} failed: {exc}") from None
    if proc.returncode != 0:
        raise UserError(f"git ls-remote failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return proc.stdout


def token_env(token: str | None) -> dict[str, str]:
    """git config through the environment that sends the token as basic auth on every HTTP request."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def resolve_commit(repo: RepoSpec, *, token: str | None = None, runner: Runner = run_git) -> str:
    """The commit `repo.ref` names now: a pinned `commit` or a full SHA as is, else a branch, then a tag."""
    if repo.commit:
        return repo.commit
    if _SHA.match(repo.ref):
        return repo.ref
    out = runner(["git", "ls-remote", "--", repo.url, repo.ref, f"{repo.ref}^{{}}"], token_env(token))
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if _SHA.match(sha.strip()):
            refs[name.strip()] = sha.strip()
    for name in (f"refs/heads/{repo.ref}", f"refs/tags/{repo.ref}^{{}}", f"refs/tags/{repo.ref}", repo.ref):
        if name in refs:
            return refs[name]
    raise UserError(f"repo.ref {repo.ref!r} is not a branch or tag of {_safe_url(repo.url)}")


def _safe_url(url: str) -> str:
    # A URL with credentials in it must not be echoed back.
    return re.sub(r"//[^/@]+@", "//***@", url)
