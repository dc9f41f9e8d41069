"""How a job's script reaches its instance, within Vast's limits on the create body.

Inline when it can: the bootstrap of `pack` (the script gzip+base64 in the onstart itself), the secrets as
one env entry each, byte for byte what vastjob has always sent. Chunked otherwise, that is when the
bootstrap is over the onstart's 4048 characters or a secret is over one env entry's 256: the script and
the long secrets travel as numbered env entries behind a small fixed onstart (see `chunked`).

One budget covers the whole create body: the onstart, and every env entry counted as key plus value
(`vastjob.vast.limits`). Only what no form can carry is refused: an env over 32768 characters in all.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from vastjob import __version__
from vastjob.compile import chunked
from vastjob.compile.pack import bootstrap_for, pack, unpack
from vastjob.errors import RenderError
from vastjob.spec.model import JobSpec
from vastjob.vast.limits import (
    DISK_MIN_GB,
    ENV_ENTRY_MAX,
    ENV_TOTAL_MAX,
    IMAGE_MAX,
    LABEL_MAX,
    ONSTART_MAX,
    entry_size,
)

Form = Literal["inline", "chunked"]
EntryKind = Literal["script", "secret", "secret part", "setting"]
DEFAULT_API_URL = "https://console.vast.ai"  # what apply sets VASTJOB_API_URL to, unless told otherwise
DPH_ENV = "VASTJOB_DPH_TOTAL"  # the rented offer's $/h (storage included), for the result the job uploads
DPH_WIDTH = 12  # its value's characters, fixed: the budget counts them before the offer is known


def dph_text(price: float) -> str | None:
    """A $/h as the DPH_ENV value, always DPH_WIDTH characters (zeros after the point pad it); None when
    it cannot be written so (a price of a million $/h or more)."""
    text = f"{price:.6f}"
    return text.ljust(DPH_WIDTH, "0") if len(text) <= DPH_WIDTH and price >= 0 else None


class _Packed:
    """The default of `make_payload(inline=...)`: make the inline bootstrap with `pack`."""


PACK = _Packed()


@dataclass(frozen=True)
class Entry:
    """One env entry of the create body, by name and size only (`size` None: a secret not read yet)."""

    name: str
    size: int | None
    kind: EntryKind
    part_of: str = ""  # the secret a "secret part" belongs to


@dataclass(frozen=True)
class Budget:
    """What the create body takes of Vast's limits, in the form chosen: the onstart's characters and the
    env's."""

    form: Form
    onstart: int
    entries: tuple[Entry, ...]

    @property
    def env(self) -> int:
        """Characters of env the known entries take (key plus value each)."""
        return sum(e.size or 0 for e in self.entries)

    def summary(self) -> str:
        """One line, as plan shows it: `onstart 412/4048, env 18.2k/32.8k`."""
        unread = sum(1 for e in self.entries if e.size is None)
        note = f" (+{unread} secret{'s' if unread > 1 else ''} not read)" if unread else ""
        return f"onstart {self.onstart}/{ONSTART_MAX}, env {_k(self.env)}/{_k(ENV_TOTAL_MAX)}{note}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready budget: totals, limits, and each entry's name, kind and size (never a value)."""
        return {
            "form": self.form,
            "onstart": self.onstart,
            "onstart_max": ONSTART_MAX,
            "env": self.env,
            "env_max": ENV_TOTAL_MAX,
            "entries": [{"name": e.name, "kind": e.kind, "size": e.size} for e in self.entries],
        }


@dataclass(frozen=True)
class Payload:
    """What the create body carries for a job: `onstart`, and `env` (which holds secret values when they
    were given: it is never printed, and its repr shows names only)."""

    onstart: str
    env: Mapping[str, str]
    form: Form
    budget: Budget

    def __repr__(self) -> str:
        return f"Payload(form={self.form!r}, {self.budget.summary()}, env names={sorted(self.env)})"


def make_payload(
    script: str,
    title: str,
    *,
    secrets: Mapping[str, str] | None = None,
    names: Sequence[str] = (),
    settings: Mapping[str, str] | None = None,
    job: str = "",
    inline: str | _Packed | None = PACK,
    later: Mapping[str, int] | None = None,
    on_failure: str = "keep",
) -> Payload:
    """The payload for `script`: inline when it fits, else chunked; `secrets` are the values read (when
    None, `names` are listed with unknown sizes and decide nothing); `settings` are plain entries sent
    beside them (VASTJOB_API_URL); `job` names the job in errors; `inline` is the inline bootstrap, or
    None when it is over the limit (by default, `pack` makes it here). RenderError only for what no form
    can carry. `later` names settings the create fills in (each with its value's width): the budget counts
    them, the env here leaves them out."""
    known = dict(secrets or {})
    filled = [Entry(k, entry_size(k, "") + width, "setting") for k, width in (later or {}).items()]
    extra = dict(settings if settings is not None else {"VASTJOB_API_URL": DEFAULT_API_URL})
    unread = [Entry(n, None, "secret") for n in names if n not in known]
    long = [n for n, v in known.items() if entry_size(n, v) > ENV_ENTRY_MAX]
    if isinstance(inline, _Packed):
        inline = pack(script, title)
    if inline is not None and len(inline) <= ONSTART_MAX and not long:
        env = {**known, **extra}
        entries = [Entry(k, entry_size(k, v), _kind(k, known)) for k, v in env.items()]
        budget = Budget("inline", len(inline), (*entries, *filled, *unread))
        return _checked(Payload(inline, env, "inline", budget), job)
    env, parts, entries = {}, [], []
    for index, name in enumerate(long):
        part, pieces = chunked.secret_entries(index, name, known[name])
        parts.append(part)
        env.update(pieces)
        entries += [Entry(k, entry_size(k, v), "secret part", name) for k, v in pieces.items()]
    plain = {k: v for k, v in known.items() if k not in long}
    pieces = chunked.cut(chunked.script_data(script), chunked.SCRIPT_PREFIX)
    env.update({**plain, **pieces, **extra})
    entries += [Entry(k, entry_size(k, v), _kind(k, plain)) for k, v in plain.items()]
    entries += [Entry(k, entry_size(k, v), "script") for k, v in pieces.items()]
    entries += [Entry(k, entry_size(k, v), "setting") for k, v in extra.items()]
    entries += filled
    text = chunked.onstart(title, script, len(pieces), parts, on_failure)
    return _checked(Payload(text, env, "chunked", Budget("chunked", len(text), (*entries, *unread))), job)


def payload_for(
    job: JobSpec,
    script: str,
    *,
    secrets: Mapping[str, str] | None = None,
    api_url: str | None = None,
) -> Payload:
    """What apply sends for `job` and its rendered `script`, checked against the whole budget; the inline
    form is exactly the job's bootstrap (`pack.bootstrap_for`)."""
    _check_instance(job)
    try:
        inline: str | None = bootstrap_for(job, script)
    except RenderError:
        inline = None  # over the onstart's limit: the chunked form carries it
    return make_payload(
        script,
        f"vastjob {__version__} {job.name} {job.spec_hash}",
        secrets=secrets,
        names=job.secret_names,
        settings={"VASTJOB_API_URL": api_url or DEFAULT_API_URL},
        job=job.name,
        inline=inline,
        # A job whose result leaves the box (to `logs:`) is told the offer's $/h, known only at the create.
        later={DPH_ENV: DPH_WIDTH} if job.logs is not None else None,
        on_failure=job.shutdown.on_failure,
    )


def render_payload(
    job: JobSpec, *, secrets: Mapping[str, str] | None = None, api_url: str | None = None
) -> Payload:
    """The payload of a job compiled now (`Compiled.payload`), for callers that hold only the spec."""
    from vastjob.compile.job import compile_job

    return compile_job(job).payload(secrets, api_url)


def carried(payload: Payload) -> str:
    """The script a payload carries, read back as the instance would (for tests and checks)."""
    if payload.form == "inline":
        return unpack(payload.onstart)
    data = chunked.join(dict(payload.env), chunked.SCRIPT_PREFIX)
    return gzip.decompress(base64.b64decode(data)).decode()


def describe(payload: Payload) -> str:
    """The env entries sent beside the onstart, by name and size (never a value), and the budget; the
    parts of the script, and of each long secret, on one line each."""
    lines = [f"# {payload.form} form: {payload.budget.summary()}"]
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in payload.budget.entries:
        key = (e.kind, e.part_of) if e.kind in ("script", "secret part") else (e.kind, e.name)
        groups.setdefault(key, []).append(e)
    for (kind, name), entries in groups.items():
        size = sum(e.size or 0 for e in entries)
        if kind == "script":
            lines.append(
                f"# env {entries[0].name}..{entries[-1].name} (the script, {len(entries)} entries, "
                f"{size} characters)"
            )
        elif kind == "secret part":
            lines.append(
                f"# env {entries[0].name}..{entries[-1].name} (secret {name} in {len(entries)} "
                f"parts, {size} characters)"
            )
        elif entries[0].size is None:
            lines.append(f"# env {name} ({kind}, its size known at apply)")
        else:
            lines.append(f"# env {name} ({kind}, {size} characters)")
    return "\n".join(lines) + "\n"


def _checked(payload: Payload, job: str) -> Payload:
    """The payload, or RenderError saying by how much it is over and what takes the room."""
    budget = payload.budget
    if budget.env > ENV_TOTAL_MAX:
        script = sum(e.size or 0 for e in budget.entries if e.kind == "script")
        secrets: dict[str, int] = {}
        for e in budget.entries:
            if e.kind in ("secret", "secret part"):
                secrets[e.part_of or e.name] = secrets.get(e.part_of or e.name, 0) + (e.size or 0)
        top = ", ".join(f"{n} {s}" for n, s in sorted(secrets.items(), key=lambda i: -i[1])[:3])
        raise RenderError(
            f"job {job}: the create body's env would be {budget.env} characters, over Vast's limit of "
            f"{ENV_TOTAL_MAX} by {budget.env - ENV_TOTAL_MAX}; the script takes {script} of them "
            "(shorten commands, datasets or env values, or move long commands into a script in the "
            f"repository) and the secrets {sum(secrets.values())} (largest: {top or 'none'})"
        )
    if budget.onstart > ONSTART_MAX:
        raise RenderError(
            f"job {job}: the onstart would be {budget.onstart} characters, over Vast's limit of "
            f"{ONSTART_MAX} by {budget.onstart - ONSTART_MAX}; fewer long secrets would shorten it"
        )
    return payload


def _check_instance(job: JobSpec) -> None:
    """The create body's other limits that the spec decides: the image, the disk, the label."""
    image, disk, label = job.instance.image, job.instance.disk_gb, job.label
    problem = None
    if len(image) > IMAGE_MAX:
        problem = f"the image is {len(image)} characters; Vast takes at most {IMAGE_MAX}"
    elif disk < DISK_MIN_GB:
        problem = f"instance.disk_gb is {disk:g}; Vast rents at least {DISK_MIN_GB:g} GB"
    elif len(label) > LABEL_MAX:
        problem = f"the label is {len(label)} characters; Vast takes at most {LABEL_MAX}"
    if problem:
        raise RenderError(f"job {job.name}: {problem}")


def _kind(name: str, secrets: Mapping[str, str]) -> EntryKind:
    return "secret" if name in secrets else "setting"


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)
