"""The validated job spec as typed, frozen records, built from a document that already passed validation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from vastjob.spec.blocks import (
    BOOT_ALLOWANCE_S,
    JOB_NAME,
    KEEP_STOPPED_S,
    LABEL_PREFIX,
    Dataset,
    GpuFilter,
    InstanceSpec,
    OfferSpec,
    RemoteSpec,
    RepoSpec,
    RunSpec,
    SetupSpec,
    ShutdownSpec,
    ShutdownVerb,
    UserStep,
    canonical_json,
    parse_duration,
)

__all__ = [
    "BOOT_ALLOWANCE_S",
    "JOB_NAME",
    "KEEP_STOPPED_S",
    "LABEL_PREFIX",
    "Dataset",
    "GpuFilter",
    "InstanceSpec",
    "JobSpec",
    "OfferSpec",
    "RemoteSpec",
    "RepoSpec",
    "RunSpec",
    "SetupSpec",
    "ShutdownSpec",
    "ShutdownVerb",
    "UserStep",
    "canonical_json",
    "parse_duration",
]
from vastjob.spec.distributed import DistributedSpec
from vastjob.spec.outputs import Destination, OutputSpec, logs_of, outputs_of


@dataclass(frozen=True)
class JobSpec:
    """A whole validated job. `document` is the resolved spec (after extends and --set) it was built from."""

    name: str
    offer: OfferSpec
    instance: InstanceSpec
    run: RunSpec
    workdir: str = "/workspace"
    repo: RepoSpec | None = None
    setup: SetupSpec = SetupSpec()  # noqa: RUF009 (a frozen record, shared safely)
    datasets: tuple[Dataset, ...] = ()
    remotes: tuple[RemoteSpec, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()
    steps: tuple[UserStep, ...] = ()
    shutdown: ShutdownSpec = ShutdownSpec()  # noqa: RUF009 (a frozen record, shared safely)
    nodes: int = 1
    distributed: DistributedSpec = field(default_factory=DistributedSpec)
    outputs: tuple[OutputSpec, ...] = ()
    logs: Destination | None = None
    commit: str | None = None  # the commit apply pinned repo.ref to; see `pinned`
    source: str = "<memory>"
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], source: str = "<memory>") -> JobSpec:
        """Build the records from a document that passed schema and rule validation."""
        workdir = doc.get("workdir", "/workspace")
        return cls(
            name=doc["name"],
            offer=OfferSpec.from_dict(doc["offer"]),
            instance=InstanceSpec.from_dict(doc["instance"]),
            run=RunSpec.from_dict(doc["run"]),
            workdir=workdir,
            repo=RepoSpec.from_dict(doc["repo"], workdir) if doc.get("repo") else None,
            setup=SetupSpec.from_dict(doc.get("setup", {})),
            datasets=tuple(Dataset.from_dict(n, d) for n, d in doc.get("datasets", {}).items()),
            remotes=tuple(RemoteSpec.from_dict(n, d) for n, d in doc.get("remotes", {}).items()),
            env=tuple((k, str(v)) for k, v in doc.get("env", {}).items()),
            secrets=tuple(doc.get("secrets", ())),
            steps=tuple(UserStep.from_dict(s) for s in doc.get("steps", ())),
            shutdown=ShutdownSpec.from_dict(doc.get("shutdown", {})),
            nodes=int(doc.get("nodes", 1)),
            distributed=DistributedSpec.from_dict(doc.get("distributed", {})),
            outputs=outputs_of(doc),
            logs=logs_of(doc),
            source=source,
            document=doc,
        )

    def pinned(self, commit: str | None) -> JobSpec:
        """This job with its clone pinned to `commit` (None: as the spec says); the spec hash is unchanged."""
        if commit == self.commit:
            return self
        pinned = replace(self, commit=commit)
        pinned.__dict__["spec_hash"] = self.spec_hash  # the document is the same: hashed once
        return pinned

    @property
    def pinned_commit(self) -> str | None:
        """The commit the clone checks out: the one apply pinned, else the spec's `repo.commit`."""
        return self.commit or (self.repo.commit if self.repo else None)

    @cached_property
    def spec_hash(self) -> str:
        """12 hex digits over the resolved document: what the instance label pins."""
        return hashlib.sha256(canonical_json(self.document).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """The Vast instance label that makes apply idempotent."""
        return f"{LABEL_PREFIX}{self.name}:{self.spec_hash}"

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Every secret the job needs: `secrets`, the repo token, remote options; in that order, once each."""
        names = [*self.secrets]
        if self.repo is not None and self.repo.token_secret:
            names.append(self.repo.token_secret)
        names += [secret for remote in self.remotes for _, secret in remote.secret_options]
        return tuple(dict.fromkeys(names))

    @property
    def base_dir(self) -> str:
        """Where relative dataset paths and commands start: the repo dir, or the workdir without a repo."""
        return self.repo.dir if self.repo else self.workdir
