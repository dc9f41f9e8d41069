"""Whether the commit apply pins is the code you have: unpushed commits, another HEAD, uncommitted changes.

Checked only when the spec lives in a clone of the job's own repo (a remote of it has the spec's
`repo.url`); a spec that runs someone else's code has nothing local to compare with.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from vastjob.spec.model import RepoSpec

# Runs `git ARGV` in a folder: stdout stripped, or None when git fails or is missing.
LocalGit = Callable[[Sequence[str], Path], "str | None"]

HOW = "push them (git push) and apply again, or set repo.commit to the commit you mean"


def local_git(argv: Sequence[str], cwd: Path) -> str | None:
    """The default LocalGit: real git, 30 s at most, no prompt."""
    try:
        proc = subprocess.run(
            ["git", *argv], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def repo_key(url: str) -> str:
    """A URL reduced to what names a repository: host and path (no user, token, port, `.git`), or a path."""
    url = url.strip()
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!/)(.+)", url)
    if scp:
        return f"{scp[1].lower()}/{scp[2].removesuffix('/').removesuffix('.git')}"
    found = re.fullmatch(r"(?:https?|ssh|git)://(?:[^@/]*@)?([^/:]+)(?::\d+)?/(.+)", url)
    if found:
        return f"{found[1].lower()}/{found[2].removesuffix('/').removesuffix('.git')}"
    path = url.removeprefix("file://")
    return str(Path(path).resolve()).removesuffix(".git") if path else url


def drift_warnings(repo: RepoSpec, commit: str, spec_source: str, git: LocalGit = local_git) -> list[str]:
    """What the user should know before renting: the pinned commit is not local HEAD, or local work is not
    pushed. Empty when the spec is not inside a clone of `repo.url`, or when all is in step."""
    if spec_source.startswith("<"):
        return []
    folder = Path(spec_source).resolve().parent
    top = git(["rev-parse", "--show-toplevel"], folder)
    if top is None:
        return []
    root = Path(top)
    remotes = (git(["remote", "-v"], root) or "").split()
    if repo_key(repo.url) not in {repo_key(word) for word in remotes[1::3]}:
        return []
    short = commit[:12]
    warnings: list[str] = []
    head = git(["rev-parse", "HEAD"], root)
    if head is not None and head != commit:
        if git(["cat-file", "-e", f"{commit}^{{commit}}"], root) is None:
            warnings.append(
                f"the instance runs {repo.ref} at {short}, a commit this clone does not have "
                f"(your HEAD is {head[:12]}): git fetch to see what it is"
            )
        else:
            ahead = int(git(["rev-list", "--count", f"{commit}..HEAD"], root) or 0)
            behind = int(git(["rev-list", "--count", f"HEAD..{commit}"], root) or 0)
            if ahead:
                warnings.append(
                    f"{ahead} local commit{'s are' if ahead > 1 else ' is'} not in {repo.ref} at {short}, "
                    f"which the instance runs: {HOW}"
                )
            if behind:
                warnings.append(
                    f"{repo.ref} at {short}, which the instance runs, has {behind} commit"
                    f"{'s' if behind > 1 else ''} your HEAD ({head[:12]}) does not"
                )
    if git(["status", "--porcelain", "--untracked-files=no"], root):
        warnings.append(f"uncommitted changes in {root} are not on the instance: commit and push them first")
    return warnings
