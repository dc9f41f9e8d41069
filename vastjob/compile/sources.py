"""Dataset source kinds: each knows its sources, what it needs installed, and the bash that fetches."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import ClassVar, Protocol
from urllib.parse import urlsplit

from vastjob.compile.quote import env_name, path, word
from vastjob.errors import RenderError
from vastjob.spec.model import Dataset, JobSpec, RemoteSpec
from vastjob.spec.rules import URL_SCHEMES, source_scheme

# The secret a Hugging Face download sends as a bearer token, when the job lists it.
HF_TOKEN = "HF_TOKEN"


@dataclass(frozen=True)
class Fetch:
    """What a source kind contributes to one dataset's step: bash lines, and the packages they need."""

    lines: tuple[str, ...]
    apt: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()


class SourceKind(Protocol):
    """One kind of dataset source; `scheme` is its `scheme://` (one of the spec's URL_SCHEMES), if any."""

    name: ClassVar[str]
    scheme: ClassVar[str | None]

    def matches(self, source: str, job: JobSpec) -> bool:
        """Whether this kind reads `source`."""
        ...

    def fetch(self, dataset: Dataset, job: JobSpec) -> Fetch:
        """The bash that downloads `dataset` into its dest and checks it."""
        ...


def _is_dir(dest: str) -> bool:
    return dest.endswith("/") or dest in ("", ".") or dest.endswith("/.")


def _into(dest: str, name: str) -> str:
    """The file a download named `name` lands in: dest itself, or inside dest when dest is a folder."""
    if not _is_dir(dest):
        return dest
    if not name:
        raise RenderError(f"cannot tell a file name for dest {dest!r}: give dest as a file path")
    return posixpath.join(dest or ".", name)


def _check(target: str, dataset: Dataset, *, size: bool = True, sha: bool = True) -> tuple[str, ...]:
    """The checks of a download: min_bytes and sha256, each only when the spec asks for it."""
    lines = []
    if size and dataset.min_bytes is not None:
        lines.append(f"vj_size {path(target)} {dataset.min_bytes}")
    if sha and dataset.sha256:
        lines.append(f"vj_sha256 {path(target)} {word(dataset.sha256.lower())}")
    return tuple(lines)


class UrlSource:
    """`https://` URLs (or http:// to this machine), fetched with curl; checked against sha256 when given."""

    name: ClassVar[str] = "url"
    scheme: ClassVar[str | None] = "https"

    def matches(self, source: str, job: JobSpec) -> bool:
        """Web URLs, as the spec's `source_scheme` reads them."""
        return source_scheme(source) == "https"

    def fetch(self, dataset: Dataset, job: JobSpec) -> Fetch:
        """curl into a partial file, then rename, then check."""
        target = _into(dataset.dest, posixpath.basename(urlsplit(dataset.source).path))
        return Fetch(
            (f"vj_url {word(dataset.source)} {path(target)}", *_check(target, dataset)), apt=("curl",)
        )


class HuggingFaceSource:
    """`hf://[datasets/]org/repo[@revision]/path/to/file`: one file of a Hub repo, by its resolve URL."""

    name: ClassVar[str] = "hf"
    scheme: ClassVar[str | None] = "hf"
    _FORM = re.compile(
        r"^hf://(?P<kind>(?:datasets|spaces)/)?(?P<repo>[^/@]+/[^/@]+)(?:@(?P<rev>[^/]+))?/(?P<file>.+)$"
    )

    def matches(self, source: str, job: JobSpec) -> bool:
        """`hf://` sources."""
        return source.startswith("hf://")

    def fetch(self, dataset: Dataset, job: JobSpec) -> Fetch:
        """The resolve URL of the file, with HF_TOKEN as a bearer token when the job lists that secret."""
        match = self._FORM.match(dataset.source)
        if match is None:
            raise RenderError(
                f"dataset {dataset.name}: {dataset.source!r} is not hf://[datasets/]org/repo[@rev]/file"
            )
        url = "https://huggingface.co/{}{}/resolve/{}/{}".format(
            match["kind"] or "", match["repo"], match["rev"] or "main", match["file"]
        )
        target = _into(dataset.dest, posixpath.basename(match["file"]))
        token = f" {HF_TOKEN}" if HF_TOKEN in job.secrets else ""
        return Fetch((f"vj_url {word(url)} {path(target)}{token}", *_check(target, dataset)), apt=("curl",))


class WandbSource:
    """`wandb://entity/project/artifact:alias`: a W&B artifact downloaded by the wandb CLI into dest."""

    name: ClassVar[str] = "wandb"
    scheme: ClassVar[str | None] = "wandb"

    def matches(self, source: str, job: JobSpec) -> bool:
        """`wandb://` sources."""
        return source.startswith("wandb://")

    def fetch(self, dataset: Dataset, job: JobSpec) -> Fetch:
        """`wandb artifact get` into dest (a folder); min_bytes is checked over that folder."""
        if dataset.sha256:
            raise RenderError(
                f"dataset {dataset.name}: sha256 cannot be checked for a wandb artifact (a folder)"
            )
        artifact = dataset.source.removeprefix("wandb://")
        return Fetch(
            (f"vj_wandb {word(artifact)} {path(dataset.dest)}", *_check(dataset.dest, dataset)),
            pip=("wandb",),
        )


class RcloneSource:
    """`remote:path` for a remote in `remotes` (or an inline `:backend:` remote), copied with rclone."""

    name: ClassVar[str] = "rclone"
    scheme: ClassVar[str | None] = None

    def matches(self, source: str, job: JobSpec) -> bool:
        """`name:path` whose name is a configured remote, or rclone's inline `:backend:path` form."""
        remote = source.split(":", 1)[0]
        return ":" in source and (remote == "" or any(r.name == remote for r in job.remotes))

    def fetch(self, dataset: Dataset, job: JobSpec) -> Fetch:
        """`rclone copy` into a folder dest (ending in /), else `rclone copyto` onto the exact path."""
        remote_path = (
            dataset.source.split(":", 1)[1] if not dataset.source.startswith(":") else dataset.source
        )
        if not _is_dir(dataset.dest):
            lines = (
                f"vj_rclone copyto {word(dataset.source)} {path(dataset.dest)}",
                *_check(dataset.dest, dataset),
            )
            return Fetch(lines, apt=("rclone",))
        # Into a folder: min_bytes counts the source's files found in it, sha256 the file of the source's
        # name in it.
        name = posixpath.basename(remote_path.rstrip("/"))
        got = dataset.min_bytes is not None
        lines = (
            f"vj_rclone copy {word(dataset.source)} {path(dataset.dest)}",
            *((f"vj_got {word(dataset.source)} {path(dataset.dest)} {dataset.min_bytes}",) if got else ()),
            *(_check(_into(dataset.dest, name), dataset, size=False) if dataset.sha256 else ()),
        )
        return Fetch(lines, apt=("rclone",))


# The kinds in the order they are tried; the first that matches reads the source.
SOURCE_KINDS: dict[str, SourceKind] = {
    kind.name: kind for kind in (UrlSource(), HuggingFaceSource(), WandbSource(), RcloneSource())
}


def source_kind(dataset: Dataset, job: JobSpec) -> SourceKind:
    """The kind that reads a dataset's source, or a RenderError naming the ones that exist.

    A `scheme://` source is read only when the spec's URL_SCHEMES lists its scheme, so the compiler
    accepts exactly what validation does."""
    scheme = source_scheme(dataset.source)
    for kind in SOURCE_KINDS.values():
        if scheme is not None and (kind.scheme != scheme or scheme not in URL_SCHEMES):
            continue
        if kind.matches(dataset.source, job):
            return kind
    remotes = ", ".join(r.name for r in job.remotes) or "none"
    schemes = ", ".join(f"{s}://" for s in URL_SCHEMES)
    raise RenderError(
        f"dataset {dataset.name}: cannot read source {dataset.source!r}: use {schemes} "
        f"or remote:path with a remote from `remotes` (configured: {remotes})"
    )


def remote_exports(job: JobSpec) -> list[str]:
    """`export RCLONE_CONFIG_<NAME>_<OPTION>=...` lines: values quoted, secrets referenced by name only."""
    return [line for remote in job.remotes for line in _remote_lines(remote)]


def remote_salt(dataset: Dataset, job: JobSpec) -> tuple[str, ...]:
    """The configuration of the remote a dataset reads (its export lines), as hash content: changing a
    remote's options reruns the downloads from it."""
    name = dataset.source.split(":", 1)[0]
    return tuple(line for r in job.remotes if r.name == name for line in _remote_lines(r))


def _remote_lines(remote: RemoteSpec) -> list[str]:
    prefix = "RCLONE_CONFIG_" + re.sub(r"[^A-Za-z0-9]", "_", remote.name).upper()
    env_name(prefix, "remote name")
    lines = [f"export {prefix}_TYPE={word(remote.type)}"]
    for option, value in remote.options:
        lines.append(f"export {env_name(prefix + '_' + option.upper(), 'remote option')}={word(str(value))}")
    for option, secret in remote.secret_options:
        name = env_name(prefix + "_" + option.upper(), "remote option")
        lines.append(f'export {name}="${{{env_name(secret, "secret")}-}}"')
    return lines
