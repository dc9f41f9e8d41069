"""What a sweep remembers between applies: each run's instance, how it ended, how long it ran and what it
cost. A run that succeeded and destroyed itself leaves nothing in the account to find it by, so this record
is what makes a second apply of a finished sweep create nothing, and what `status SWEEP` totals.

One JSON file per sweep and account under the XDG state folder (`$XDG_STATE_HOME/vastjob/sweeps/`), written
whole and renamed into place, so that an interrupted write never leaves half a record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vastjob.errors import UserError
from vastjob.userfiles import state_root, write_whole

ENDED = ("succeeded", "failed", "unknown", "not_started")  # outcomes after which a run is not run again


@dataclass
class RunRecord:
    """One run of one spec hash: its instance, when it was created and seen ending, its outcome and cost."""

    run: str
    spec_hash: str
    worst: float
    instance_id: int | None = None
    dph: float = 0.0
    created_at: float | None = None
    ended_at: float | None = None
    state: str = "pending"
    outcome: str | None = None
    cost: float = 0.0
    note: str | None = None

    @property
    def ended(self) -> bool:
        """Whether the run is over (it is not launched again)."""
        return self.outcome in ENDED

    def measure(self, now: float) -> float:
        """What it has cost by `now` at its price (storage included), from its creation."""
        if self.created_at is None:
            return self.cost
        return self.dph * max(0.0, (self.ended_at or now) - self.created_at) / 3600


@dataclass
class SweepRecord:
    """Every run a sweep has launched, by `<run>:<spec hash>`, and where the record is kept."""

    path: Path
    sweep: str
    runs: dict[str, RunRecord] = field(default_factory=dict)
    past: float = 0.0  # dollars of runs launched again since (their earlier instance was destroyed)

    @staticmethod
    def key(run: str, spec_hash: str) -> str:
        """The record key of a run of one spec hash."""
        return f"{run}:{spec_hash}"

    def get(self, run: str, spec_hash: str) -> RunRecord | None:
        """The run's record for this spec hash, if it was launched."""
        return self.runs.get(self.key(run, spec_hash))

    def put(self, rec: RunRecord) -> None:
        """Record a run (replacing its earlier record, whose cost stays spent) and save."""
        old = self.runs.get(self.key(rec.run, rec.spec_hash))
        if old is not None and old is not rec:
            self.past += old.cost
        self.runs[self.key(rec.run, rec.spec_hash)] = rec
        self.save()

    @property
    def spent(self) -> float:
        """Dollars of every run that ended, earlier spec hashes included."""
        return self.past + sum(r.cost for r in self.runs.values() if r.ended or r.outcome == "destroyed")

    def save(self) -> None:
        """Write the record whole, then rename it into place."""
        data = {"sweep": self.sweep, "past": self.past, "runs": {k: asdict(v) for k, v in self.runs.items()}}
        write_whole(self.path, json.dumps(data, indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: Path, sweep: str) -> SweepRecord:
        """The record at `path` (empty when there is none); a record that cannot be read is refused, since
        what it says decides what is rented again."""
        if not path.exists():
            return cls(path, sweep)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs = {k: RunRecord(**v) for k, v in data["runs"].items()}
            return cls(path, sweep, runs, float(data.get("past", 0.0)))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            raise UserError(
                f"the record of sweep {sweep} at {path} cannot be read ({err}); it says which runs ended "
                "and what they cost: fix or move it, and run `vastjob status` on the sweep"
            ) from None


def record_path(sweep: str, base_url: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the record of a sweep on one account (its API URL) is kept: the XDG state folder."""
    account = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return state_root(environ) / "sweeps" / f"{sweep}-{account}.json"
