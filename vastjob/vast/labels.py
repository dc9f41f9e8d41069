"""Instance labels `vastjob:<name>:<spec hash>[:tag...]`: how apply stays idempotent and how commands find
a job. Tags record what a later listing must know: which apply created the instance (`apply-<nonce>`, so
a create whose answer was lost can be found), that its price was confirmed within the cap (`priced`), and
`key=value` fields such as the instance's deadline (`c=`, `b=`, `d=`, `k=`: `vastjob.vast.deadline`).
Tags this version does not read are kept as they are, so an older reader never loses a newer one's."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vastjob.errors import UserError
from vastjob.spec.model import JOB_NAME, LABEL_PREFIX

LABEL_LIMIT = 256  # Vast's create body takes at most 256 characters of label
NONCE_TAG = "apply-"  # the apply that created the instance: `apply-<8 hex>`
PRICED_TAG = "priced"  # its price was read back within the job's cap
_KEY = re.compile(r"[a-z][a-z0-9_]{0,15}")
_VALUE = re.compile(r"[A-Za-z0-9._+-]{1,64}")


@dataclass(frozen=True)
class Label:
    """A parsed vastjob label: the job and spec, then tags (the creating apply, a confirmed price, others)."""

    name: str
    spec_hash: str
    nonce: str | None = None
    priced: bool = False
    extra: tuple[str, ...] = ()  # tags this version does not read, kept as they are

    @property
    def spec(self) -> str:
        """`vastjob:<name>:<spec hash>`, what every instance of one spec shares (the job's `label`)."""
        return f"{LABEL_PREFIX}{self.name}:{self.spec_hash}"

    @property
    def fields(self) -> dict[str, str]:
        """The `key=value` tags (the first of a key twice; `duplicated` says whether one is)."""
        found: dict[str, str] = {}
        for key, value in (_field(tag) for tag in self.extra):
            if key is not None:
                found.setdefault(key, value)
        return found

    def duplicated(self, key: str) -> bool:
        """Whether the label carries the field `key` more than once (an ambiguous label)."""
        return sum(1 for tag in self.extra if _field(tag)[0] == key) > 1

    def with_fields(self, **values: str) -> Label:
        """This label with `key=value` tags set (replacing those of the same keys), after the others."""
        for key, value in values.items():
            if not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
                raise ValueError(f"label field {key}={value!r} is not key=value of plain characters")
        kept = tuple(tag for tag in self.extra if _field(tag)[0] not in values)
        added = tuple(f"{k}={v}" for k, v in values.items())
        return Label(self.name, self.spec_hash, self.nonce, self.priced, kept + added)

    def __str__(self) -> str:
        tags = [*([NONCE_TAG + self.nonce] if self.nonce else []), *self.extra]
        tags += [PRICED_TAG] if self.priced else []
        return ":".join([self.spec, *tags])


def parse_label(label: str | None) -> Label | None:
    """The job name, hash and tags in a label, or None for a label vastjob did not write."""
    if not label or not label.startswith(LABEL_PREFIX):
        return None
    parts = label[len(LABEL_PREFIX) :].split(":")
    if len(parts) < 2 or not JOB_NAME.fullmatch(parts[0]) or not parts[1]:
        return None
    nonce, priced, extra = None, False, []
    for tag in parts[2:]:
        if tag.startswith(NONCE_TAG) and nonce is None and len(tag) > len(NONCE_TAG):
            nonce = tag[len(NONCE_TAG) :]
        elif tag == PRICED_TAG:
            priced = True
        else:
            extra.append(tag)
    return Label(parts[0], parts[1], nonce, priced, tuple(extra))


def _field(tag: str) -> tuple[str | None, str]:
    key, sep, value = tag.partition("=")
    return (key, value) if sep and _KEY.fullmatch(key) else (None, tag)


def is_vastjob(label: str | None) -> bool:
    """Whether a label claims to be vastjob's (it starts `vastjob:`), whether or not it parses."""
    return bool(label) and str(label).startswith(LABEL_PREFIX)


def spec_of(label: str | None) -> str | None:
    """The `vastjob:<name>:<spec hash>` a label starts with (its tags left out), or None."""
    parsed = parse_label(label)
    return None if parsed is None else parsed.spec


def new_nonce() -> str:
    """A fresh tag value for one apply: the instance a lost answer made can be found by it."""
    return secrets.token_hex(4)


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
