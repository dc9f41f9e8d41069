"""Instance labels: how apply stays idempotent, how commands find a job, and where an instance's own
deadline travels, so that any later listing can read it without local state.

The one format, `vastjob:<name>:<spec hash>[:<key>=<value>]...`: the identity (`vastjob:<name>:<hash>`,
what `JobSpec.label` is) comes first; fields after it are `key=value` pairs of lower-case keys and plain
values. Labels of the older form, without fields, still parse. Vast keeps 256 characters of a label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vastjob.errors import UserError
from vastjob.spec.model import JOB_NAME, LABEL_PREFIX

LABEL_LIMIT = 256
_KEY = re.compile(r"[a-z][a-z0-9_]{0,15}")
_VALUE = re.compile(r"[A-Za-z0-9._+-]{1,64}")
_HASH = re.compile(r"[0-9a-z]{1,64}")


@dataclass(frozen=True)
class Label:
    """A parsed vastjob label: the job, its spec hash, and the fields after them (in their order)."""

    name: str
    spec_hash: str
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def identity(self) -> str:
        """`vastjob:<name>:<hash>`: the same for every instance of one spec, whatever the fields say."""
        return f"{LABEL_PREFIX}{self.name}:{self.spec_hash}"

    def with_fields(self, **values: str) -> Label:
        """This label with fields added or replaced (later keys after earlier ones)."""
        for key, value in values.items():
            if not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
                raise ValueError(f"label field {key}={value!r} is not key=value of plain characters")
        return Label(self.name, self.spec_hash, {**self.fields, **values})

    def __str__(self) -> str:
        text = self.identity + "".join(f":{k}={v}" for k, v in self.fields.items())
        if len(text) > LABEL_LIMIT:
            raise ValueError(f"label {text[:40]}... is {len(text)} characters; Vast keeps {LABEL_LIMIT}")
        return text


def is_vastjob(label: str | None) -> bool:
    """Whether a label claims to be vastjob's (it starts `vastjob:`), parseable or not."""
    return bool(label) and str(label).startswith(LABEL_PREFIX)


def parse_label(label: str | None) -> Label | None:
    """The job name, hash and fields in a label; None for a label vastjob did not write, or a broken one."""
    if not label or not label.startswith(LABEL_PREFIX):
        return None
    parts = label[len(LABEL_PREFIX) :].split(":")
    if len(parts) < 2 or not JOB_NAME.fullmatch(parts[0]) or not _HASH.fullmatch(parts[1]):
        return None
    fields: dict[str, str] = {}
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        if not sep or not _KEY.fullmatch(key) or not _VALUE.fullmatch(value) or key in fields:
            return None
        fields[key] = value
    return Label(parts[0], parts[1], fields)


def identity(label: str | None) -> str | None:
    """The `vastjob:<name>:<hash>` part of a vastjob label, None for any other label."""
    parsed = parse_label(label)
    return None if parsed is None else parsed.identity


def job_prefix(name: str) -> str:
    """The label prefix shared by every instance of one job, whatever its spec hash."""
    return f"{LABEL_PREFIX}{name}:"


def check_name(name: str) -> str:
    """A job name as given on the command line, refused when it cannot be one."""
    if not JOB_NAME.fullmatch(name):
        raise UserError(
            f"{name!r} is neither a spec file nor a job name ([a-z0-9][a-z0-9-]*, at most 48 chars)"
        )
    return name


def of_job(instances: Iterable[Mapping[str, Any]], name: str | None) -> list[dict[str, Any]]:
    """The instances labelled for job `name` (every vastjob instance when name is None), oldest first."""
    found = []
    for inst in instances:
        parsed = parse_label(inst.get("label"))
        if parsed is not None and (name is None or parsed.name == name):
            found.append(dict(inst))
    return sorted(found, key=lambda i: int(i.get("id") or 0))
