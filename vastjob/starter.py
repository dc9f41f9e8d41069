"""`vastjob init`: a commented starter spec, the schema it points at, and a `.env.example`, never overwriting.

The starter lives in `jobs/`, the schema in `schemas/job.schema.json`, so the spec's modeline
(`$schema=../schemas/job.schema.json`) resolves in the user's repo exactly as it does in vastjob's own.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from vastjob.errors import UserError
from vastjob.spec.model import JOB_NAME

SCHEMA_PATH = Path("schemas/job.schema.json")
JOBS = Path("jobs")
NAME_MAX = 48

# Runs git with arguments in a folder; its stdout, or None when git fails or is missing.
GitRunner = Callable[[Sequence[str], Path], "str | None"]


@dataclass(frozen=True)
class Written:
    """What init wrote, and what it left alone because it was already there."""

    created: list[Path]
    kept: list[Path]
    spec: Path


def run_git(argv: Sequence[str], cwd: Path) -> str | None:
    """`git ARGV` in `cwd`: its stdout stripped, or None when it fails or git is missing."""
    try:
        proc = subprocess.run(
            ["git", *argv], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def job_name_for(folder: Path) -> str:
    """A valid job name from a folder's name: lower case, `-` for anything else, at most 48 characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-")[:NAME_MAX].rstrip("-")
    return name or "train"


def clone_url(remote: str) -> str | None:
    """An https clone URL from a git remote (`git@host:path` rewritten), without any user or token in it."""
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!/)(.+)", remote)
    if scp:
        remote = f"https://{scp[1]}/{scp[2]}"
    found = re.fullmatch(r"(?:https|ssh)://(?:[^@/]*@)?([^/:]+)(?::\d+)?/(.+)", remote)
    # The remote may carry a token (https://user:token@host/...): only the host and path are kept.
    return f"https://{found[1]}/{found[2]}" if found else None


def repo_block(folder: Path, name: str, git: GitRunner) -> str:
    """The `repo:` section: this repo's origin and branch when it has one, else a commented example."""
    url = clone_url(git(["remote", "get-url", "origin"], folder) or "")
    branch = git(["symbolic-ref", "--short", "HEAD"], folder)  # set even before the first commit
    if url is None:
        return (
            "# repo:                         # the code to run, cloned at the commit apply pins\n"
            f"#   url: https://example.com/you/{name}.git\n"
            "#   ref: main                   # apply resolves a branch to its commit\n"
            "#   token_secret: GIT_TOKEN     # for a private repo (list it in secrets too)\n\n"
        )
    ref = branch or "main"
    return (
        "repo:                            # the code to run, cloned at the commit apply pins\n"
        f"  url: {json.dumps(url)}\n"
        f"  ref: {json.dumps(ref)}  # apply resolves a branch to its commit\n\n"
    )


def starter_spec(name: str, repo: str) -> str:
    """The starter spec's text, from the template shipped in the package."""
    template = resources.files("vastjob").joinpath("templates/job.yaml").read_text(encoding="utf-8")
    return template.replace("__REPO__\n", repo).replace("__NAME__", name)


def env_example(names: Sequence[str], spec: str) -> str:
    """A `.env.example` naming each secret the spec needs, to copy to `.env` and fill in."""
    lines = [
        f"# The secrets {spec} needs. Copy this file to .env next to it (or at the repo root), fill in the",
        "# values, and keep .env out of git. The environment wins over .env; an empty value counts as set.",
    ]
    return "\n".join([*lines, *(f"{n}=" for n in names)]) + "\n"


def write_starter(folder: Path, *, name: str | None = None, git: GitRunner = run_git) -> Written:
    """Write the starter files under `folder`; a file that exists is kept as it is, never overwritten."""
    from vastjob.spec.load import load_job
    from vastjob.spec.schema import schema_text

    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    name = name or job_name_for(folder)
    if not JOB_NAME.fullmatch(name):
        raise UserError(f"job name {name!r}: lower-case letters, digits and -, not starting with -, ≤ 48")
    spec_rel = JOBS / f"{name}.yaml"
    spec_text = starter_spec(name, repo_block(folder, name, git))
    files = {SCHEMA_PATH: schema_text(), spec_rel: spec_text, JOBS / ".gitignore": "/.env\n"}
    created: list[Path] = []
    kept: list[Path] = []
    for rel, text in files.items():
        (created if create_new(folder / rel, text) else kept).append(folder / rel)
    job = load_job(folder / spec_rel)  # the spec there now: the user's own, if one was kept
    env_path = folder / JOBS / ".env.example"
    text = env_example(list(job.secret_names), spec_rel.name)
    (created if create_new(env_path, text) else kept).append(env_path)
    return Written(created, kept, folder / spec_rel)


def write_schema(path: Path) -> Literal["created", "updated", "unchanged"]:
    """Write the schema to `path`: a new file, or a newer copy over an older vastjob schema; nothing else."""
    from vastjob.spec.schema import schema_text

    text = schema_text()
    if create_new(path, text):
        return "created"
    try:
        old = path.read_text(encoding="utf-8")
        title = json.loads(old).get("title") if old.lstrip().startswith("{") else None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path} exists and is not a vastjob schema ({err}): not overwritten") from None
    if old == text:
        return "unchanged"
    if title != json.loads(text)["title"]:
        raise UserError(f"{path} exists and is not a vastjob schema: not overwritten")
    path.write_text(text, encoding="utf-8")
    return "updated"


def create_new(path: Path, text: str) -> bool:
    """Create `path` holding `text`; False, touching nothing, when it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # An exclusive open: even a file created a moment ago by someone else is never replaced.
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        return False
    return True
