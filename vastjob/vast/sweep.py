"""`vastjob apply SWEEP`: launch a sweep's runs, at most `max_parallel` at once and never past its budget,
follow them, start the next as one ends, and say how it went.

Each run is applied as the single job it is (`Applier`: idempotent by label, at most one create per offer),
and its record (`SweepRecord`) is saved at every change, so that Ctrl-C detaches: a second apply adopts the
runs still up, by label, counts those that ended meanwhile, and starts what is left.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from vastjob.errors import ApiError, Interrupted, UserError
from vastjob.spec.model import JobSpec, ShutdownVerb
from vastjob.spec.sweep import Run, Sweep
from vastjob.vast import labels
from vastjob.vast.apply import Applier, ApplyOptions
from vastjob.vast.budget import check_budget, may_start, worst_case
from vastjob.vast.client import VastClient
from vastjob.vast.instance import Instance, show
from vastjob.vast.local import Outcome
from vastjob.vast.pin import Runner, run_git
from vastjob.vast.sweep_record import RunRecord, SweepRecord
from vastjob.vast.sweep_result import SweepResult

_RERUN = ("failed", "not_started", "unknown")  # outcomes `rerun_failed` launches again


def run_outcome(job: JobSpec, last: Instance | None) -> Outcome:
    """How a run ended, from the last look at its instance (None: destroyed).

    The one place a sweep learns a run's outcome. Today it is read from the instance's end state through
    the job's shutdown actions (destroyed after success, stopped after failure, as the spec says); a result
    the job records for itself is to be read here first, so that nothing else changes when there is one.
    """
    if last is not None and last.dead:
        return "failed"  # the host never ran it, or lost it
    verbs: dict[str, ShutdownVerb] = {"destroyed": "destroy", "stopped": "stop", "running": "keep"}
    action = verbs.get("destroyed" if last is None else last.state)
    ok, bad = job.shutdown.on_success, job.shutdown.on_failure
    if action == ok != bad:
        return "succeeded"
    if action == bad != ok:
        return "failed"
    return "unknown"  # both endings look alike, or the state says neither


@dataclass
class SweepApplier:
    """One apply of a sweep; the client factory, output, clock and sleep are passed in."""

    sweep: Sweep
    connect: Callable[[], VastClient]
    record: SweepRecord
    options: ApplyOptions = field(default_factory=ApplyOptions)
    within_budget: bool = False  # start what the budget allows instead of refusing the whole sweep
    rerun_failed: bool = False  # launch the runs that failed or did not start again, replacing their instance
    environ: Mapping[str, str] | None = None
    runner: Runner = run_git
    say: Callable[[str], None] = lambda _msg: None
    confirm: Callable[[str], bool] = lambda _text: False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time  # wall time: the record outlives this process
    poll_s: float = 5.0
    _active: dict[str, RunRecord] = field(default_factory=dict, init=False)
    _stopped: str | None = field(default=None, init=False)

    def run(self) -> SweepResult:
        """Apply the sweep; returns its summary (also after a refusal by the budget, with nothing started)."""
        left = [r for r in self.sweep.runs if not self._ended(r)]
        if not self.within_budget:
            check_budget(self.sweep, left, self.record.spent)
        if self.options.dry_run or not left:
            return self._result("dry_run" if self.options.dry_run and left else "done")
        if not self.options.yes and not self.confirm(self._question(left)):
            return self._result("declined")
        try:
            with self.connect() as client:
                pending = self._adopt(client, left)
                while True:
                    self._follow(client)
                    self._launch(pending)
                    if not self._active:
                        break
                    self.sleep(self.poll_s)
        except (KeyboardInterrupt, Interrupted):
            self.record.save()
            names = ", ".join(self._active) or "none"
            raise Interrupted(
                f"detached from sweep {self.sweep.name}; still running: {names}. Apply it again to follow "
                f"them and start the rest, `vastjob destroy` on it to end them all"
            ) from None
        return self._result("done")

    # -- the steps -------------------------------------------------------------------------------------

    def _ended(self, run: Run) -> bool:
        rec = self.record.get(run.name, run.job.spec_hash)
        return rec is not None and rec.ended and not (self.rerun_failed and rec.outcome in _RERUN)

    def _question(self, left: list[Run]) -> str:
        worst = sum(worst_case(r.job) for r in left)
        return (
            f"launch {len(left)} runs of sweep {self.sweep.name}, {self.sweep.policy.max_parallel} at a time "
            f"(worst case ${worst:.2f}, budget ${self.sweep.policy.budget:.2f})?"
        )

    def _adopt(self, client: VastClient, left: list[Run]) -> list[Run]:
        """Runs already up (by label) are followed again; the ones that ended meanwhile are recorded; the
        rest is what is left to launch, in matrix order."""
        listed = client.list_instances()
        pending = []
        for run in left:
            rec = self.record.get(run.name, run.job.spec_hash)
            mine = [
                Instance.from_api(i)
                for i in labels.of_job(listed, run.name)
                if (p := labels.parse_label(i.get("label"))) is not None and p.spec_hash == run.job.spec_hash
            ]
            alive = [i for i in mine if i.alive]
            if alive:
                inst = alive[-1]
                if rec is None or rec.instance_id != inst.id:
                    rec = self._new_record(run, inst.id, inst.dph_total or 0.0)
                    started = inst.raw.get("start_date")
                    if isinstance(started, int | float) and 0 < started < (rec.created_at or 0):
                        rec.created_at = float(started)  # counted from when it was rented, not from now
                rec.state = inst.state
                self._active[run.name] = rec
                self.say(f"{run.name}: following instance {inst.id} ({inst.state}) again")
            elif rec is not None and rec.instance_id is not None and rec.outcome is None:
                gone = next((i for i in mine if i.id == rec.instance_id), None)
                self._end(run, rec, gone, note="ended while no apply followed it")
            else:
                pending.append(run)
        return pending

    def _new_record(self, run: Run, instance_id: int | None, dph: float) -> RunRecord:
        # A price that cannot be read counts as the cap: the spending it measures is never under the truth.
        rate = dph if dph > 0 else run.job.offer.max_price_per_hour
        rec = RunRecord(run.name, run.job.spec_hash, worst_case(run.job), instance_id, rate, self.clock())
        rec.state = "created"
        self.record.put(rec)
        return rec

    def _launch(self, pending: list[Run]) -> None:
        """Start runs while there is room, the budget allows, and no failure has stopped the sweep."""
        policy = self.sweep.policy
        while pending and len(self._active) < policy.max_parallel and self._stopped is None:
            run = pending[0]
            committed = sum(r.worst for r in self._active.values())
            if not may_start(policy.budget, self.record.spent, committed, worst_case(run.job)):
                if not self._active:
                    self._stopped = "budget"
                    self.say(f"{run.name}: not started: its worst case would take the sweep over its budget")
                return  # the next to end may make room
            pending.pop(0)
            self._start(run)

    def _start(self, run: Run) -> None:
        def say(message: str) -> None:
            self.say(f"{run.name}: {message}")

        again = self.rerun_failed and (rec := self.record.get(run.name, run.job.spec_hash)) is not None
        # A failed run's instance (stopped, its disk kept) is replaced: the new one first, then the old.
        replace = self.options.replace or (again and rec is not None and rec.outcome in _RERUN)
        opts = dataclasses.replace(self.options, yes=True, wait=True, dry_run=False, replace=replace)
        applier = Applier(
            run.job, self.connect, options=opts, environ=self.environ, runner=self.runner, say=say
        )
        began = self.clock()  # billing starts at the create, before the wait for running
        try:
            result = applier.run()
        except (UserError, ApiError) as err:
            if isinstance(err, Interrupted):
                raise
            rec = RunRecord(run.name, run.job.spec_hash, worst_case(run.job), outcome="not_started")
            rec.state, rec.note = "not started", str(err).splitlines()[0]
            self.record.put(rec)
            say(f"not started: {rec.note}")
            self._failed(run)
            return
        chosen = result.plan.chosen if result.plan else None
        rec = self._new_record(run, result.instance_id, chosen.price_per_hour if chosen else 0.0)
        rec.created_at = began
        rec.state = result.state or "created"
        self._active[run.name] = rec
        self.record.save()

    def _follow(self, client: VastClient) -> None:
        """Look at each run in flight once: record those that ended; end one that reached its worst case."""
        by_name = {r.name: r for r in self.sweep.runs}
        for name, rec in list(self._active.items()):
            run = by_name[name]
            assert rec.instance_id is not None
            inst = show(client, rec.instance_id)
            if inst is not None and not inst.gone:
                rec.state = inst.state
                # An unreadable price is the cap (never $0/h): what is measured is never under the truth.
                price = inst.dph_total
                rec.dph = price if price is not None and price > 0 else run.job.offer.max_price_per_hour
                if rec.measure(self.clock()) >= rec.worst:
                    # The on-instance watchdog should have ended it: the budget does not wait for it.
                    client.destroy_instance(inst.id)
                    note = f"reached its worst case (${rec.worst:.2f}): destroyed"
                    self._end(run, rec, None, note=note, outcome="failed")
                    self._failed(run)
                continue
            self._end(run, rec, inst)
            if rec.outcome == "failed":
                self._failed(run)

    def _end(
        self,
        run: Run,
        rec: RunRecord,
        last: Instance | None,
        note: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        rec.ended_at = self.clock()
        rec.state = "destroyed" if last is None else last.state
        rec.outcome = outcome or run_outcome(run.job, last)
        rec.cost = min(rec.measure(rec.ended_at), rec.worst) if note else rec.measure(rec.ended_at)
        rec.note = note or rec.note
        self._active.pop(run.name, None)
        self.record.put(rec)
        self.say(f"{run.name}: {rec.outcome} (instance {rec.instance_id} {rec.state}), ~${rec.cost:.2f}")

    def _failed(self, run: Run) -> None:
        if self.sweep.policy.on_failure == "stop" and self._stopped is None:
            self._stopped = "failure"
            self.say(f"{run.name} failed and sweep.on_failure is stop: no more runs are started")

    def _result(self, action: str) -> SweepResult:
        return SweepResult.of(self.sweep, self.record, action, self._stopped, self.clock())
