"""What `vastjob apply` is asked to do (its options) and what it did (its result, as JSON and as text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vastjob.errors import EXIT_OK, EXIT_USER
from vastjob.vast.destroy import DEFAULT as DEFAULT_PATIENCE
from vastjob.vast.destroy import Patience
from vastjob.vast.instance import Instance
from vastjob.vast.plan import Plan

Action = Literal["up_to_date", "dry_run", "declined", "created"]


@dataclass(frozen=True)
class ApplyOptions:
    """The flags of `vastjob apply` and the patience of its waits."""

    yes: bool = False
    dry_run: bool = False
    replace: bool = False
    wait: bool = False
    pin: bool = True
    wait_timeout_s: float = 1800.0
    poll_s: float = 5.0
    max_replacements: int = 3
    create_attempts: int = 6  # requests on one offer
    max_creates: int = 10  # create requests in one apply, all offers together
    settle_s: float = 60.0  # how long a list may lag behind a create before it counts as not made
    destroy_patience: Patience = DEFAULT_PATIENCE


@dataclass
class ApplyResult:
    """What apply did: `up_to_date`, `dry_run`, `declined` or `created` (then the instance and its state)."""

    action: Action
    label: str
    instance_id: int | None = None
    state: str | None = None
    plan: Plan | None = None
    existing: list[Instance] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    discarded: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when the rental was not confirmed: a CI job that rented nothing must not pass."""
        return EXIT_USER if self.action == "declined" else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (secret names only, never values)."""
        return {
            "action": self.action,
            "label": self.label,
            "instance_id": self.instance_id,
            "state": self.state,
            "existing": [i.brief() for i in self.existing],
            "replaced": self.replaced,
            "discarded": self.discarded,
            "plan": self.plan.to_json() if self.plan else None,
        }

    def render(self) -> str:
        """One line saying what apply did."""
        if self.action == "up_to_date":
            return (
                f"up to date: instance {self.instance_id} ({self.state or 'provisioning'}) "
                f"already runs {self.label}"
            )
        if self.action == "dry_run":
            return "dry run: nothing created"
        if self.action == "declined":
            return "not confirmed (pass --yes to rent without the question): nothing created"
        if self.state == "stopped":
            return (
                f"instance {self.instance_id} ({self.label}) is stopped: its job is not running and its disk "
                "is still billed; `vastjob destroy` ends that"
            )
        if self.state == "destroyed":
            return f"instance {self.instance_id} ({self.label}) ended and is destroyed: nothing bills"
        return f"instance {self.instance_id} ({self.state}) runs {self.label}"
