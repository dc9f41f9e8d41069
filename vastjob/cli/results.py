"""The results of the commands that have no result type of their own below the CLI: each one knows its JSON
and its text, and `emit` prints one or the other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from vastjob.vast.query import Candidate


@dataclass(frozen=True)
class Text:
    """Text printed as it is (a script, a graph); with -o json, `{key: text}` (no key: none) after `extra`."""

    text: str
    key: str = "text"
    extra: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The text under its key, after the extra fields."""
        return {**(self.extra or {}), **({self.key: self.text} if self.key else {})}

    def render(self) -> str:
        """The text itself."""
        return self.text


@dataclass(frozen=True)
class Offers:
    """The matching offers, best first, and the runtime their cost is counted for."""

    candidates: Sequence[Candidate]
    max_runtime_s: int | None

    def to_json(self) -> list[dict[str, Any]]:
        """One object per offer."""
        return [c.to_json(self.max_runtime_s) for c in self.candidates]

    def render(self) -> str:
        """The offers table."""
        from vastjob.vast.plan import offers_table

        return offers_table(self.candidates, self.max_runtime_s)


@dataclass(frozen=True)
class StatusRows:
    """`status`: one row per instance."""

    rows: Sequence[Mapping[str, Any]]
    history: Sequence[Mapping[str, Any]] = ()  # jobs applied from this machine (`vastjob cost -o json`)
    listed: bool = True  # False: no API key, so no instance was looked for

    def to_json(self) -> list[Mapping[str, Any]]:
        """The rows as they are."""
        return list(self.rows)

    def render(self) -> str:
        """The status table, then the jobs applied from this machine (outcome, duration, cost)."""
        from vastjob.vast.jobstatus import history_table
        from vastjob.vast.lifecycle import status_table

        head = status_table(self.rows) if self.listed else "(no Vast API key: instances not listed)"
        if not self.history:
            return head
        return f"{head}\n\njobs applied from this machine:\n{history_table(self.history)}"


Verb = Literal["stopped", "destroyed"]


@dataclass(frozen=True)
class Acted:
    """What `stop` or `destroy` did: the ids acted on (none when nothing was left, or the user said no)."""

    verb: Verb
    ids: Sequence[int]
    none_text: str
    declined: bool = False  # the user did not confirm: exit 1, so a script sees that nothing happened

    @property
    def exit_code(self) -> int:
        """1 when the question was not answered yes, else 0."""
        return 1 if self.declined else 0

    def to_json(self) -> dict[str, list[int]]:
        """`{"stopped": [...]}` or `{"destroyed": [...]}`."""
        return {self.verb: list(self.ids)}

    def render(self) -> str:
        """The ids, or what it means that there are none."""
        return f"{self.verb} {', '.join(map(str, self.ids))}" if self.ids else self.none_text


@dataclass(frozen=True)
class Logs:
    """The last lines of an instance's log."""

    instance_id: int
    label: str | None
    text: str

    def to_json(self) -> dict[str, Any]:
        """The instance and its lines."""
        return {"id": self.instance_id, "label": self.label, "lines": self.text.splitlines()}

    def render(self) -> str:
        """The log as it came."""
        return self.text
