"""What apply will do with a job's existing instances: create, nothing (up to date), or replace; and, for a
replace, which spec fields changed since the instance's spec (when this machine applied that spec).

`plan` shows the decision; apply acts on it and refuses a replace that was not asked for with --replace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.history import FieldChange, changed_fields, recall
from vastjob.vast.instance import Instance

Action = Literal["create", "up_to_date", "replace"]


@dataclass(frozen=True)
class Decision:
    """The action for a job, the instances it concerns, and what changed in the spec (None: unknown)."""

    action: Action
    existing: Sequence[Instance]
    same_spec: bool  # an instance of this very spec is there (for a replace: stopped or dead)
    changes: Sequence[FieldChange] | None = None
    old_hashes: Sequence[str] = ()

    @property
    def running(self) -> Instance | None:
        """The instance that already runs this spec, for `up_to_date`."""
        return self.existing[-1] if self.action == "up_to_date" and self.existing else None

    def render(self) -> list[str]:
        """The plan's `action` lines."""
        if self.action == "create":
            return ["action    create: the job has no instance yet"]
        ids = ", ".join(str(i.id) for i in self.existing)
        if self.action == "up_to_date":
            inst = self.running
            assert inst is not None
            return [f"action    up to date: instance {inst.id} ({inst.state}) runs this spec already"]
        if self.same_spec:
            return [
                f"action    replace instance {ids}: it has this spec but is {self.existing[-1].state} "
                "(apply needs --replace: the new one is made first)"
            ]
        lines = [
            f"action    replace instance {ids} (spec {', '.join(self.old_hashes)} -> this one; "
            "apply needs --replace: the new one is made first)"
        ]
        if self.changes is None:
            lines.append("  changed   unknown: that spec was not applied from this machine")
        else:
            lines += [f"  changed   {c.render()}" for c in self.changes] or ["  changed   nothing"]
        return lines

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form: the action, the instances, the changes (null when unknown)."""
        return {
            "action": self.action,
            "instances": [i.id for i in self.existing],
            "same_spec": self.same_spec,
            "old_spec_hashes": list(self.old_hashes),
            "changes": None if self.changes is None else [c.to_json() for c in self.changes],
        }


def decide(job: JobSpec, existing: Sequence[Instance], environ: Mapping[str, str] | None = None) -> Decision:
    """What apply does with `existing` (the job's instances, oldest first) for `job` as it stands."""
    same = [i for i in existing if labels.spec_of(i.label) == job.label]  # whatever the label's tags
    alive = [i for i in same if i.alive]
    if alive:
        return Decision("up_to_date", [alive[-1]], True)
    if not existing:
        return Decision("create", [], False)
    if same:
        return Decision("replace", list(existing), True)
    hashes = [p.spec_hash for p in (labels.parse_label(i.label) for i in existing) if p is not None]
    hashes = [h for h in dict.fromkeys(hashes) if h != job.spec_hash]
    old = recall(hashes[-1], environ) if hashes else None
    changes = None if old is None else changed_fields(old, job.document)
    return Decision("replace", list(existing), False, changes, hashes)
