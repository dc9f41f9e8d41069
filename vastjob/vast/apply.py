"""`vastjob apply`: rent an instance for a job, in phases, so that money is only spent on purpose.

1. preflight: compile (an oversized bootstrap fails here) and read secrets: no network yet;
2. reconcile: find instances labelled for the job: the same spec hash running is "up to date"; stopped or
   dead, or another hash, needs `--replace`;
3. prepare: pin the repo's branch, compile the pinned job once, search, rank, show the plan, ask
   (`--dry-run` stops here);
4. launch: create with `cancel_unavail` (the at-most-once protocol of `vastjob.vast.create`); re-read the
   price and destroy an instance over the cap at once; with `--wait`, follow it to `running`, replacing
   an instance that reaches exited/unknown/offline;
5. retire: with `--replace`, destroy the old instances, after the new one exists: should anything go wrong
   on the way, the old instance (and whatever it holds) is still there, at the price of a short overlap.
A failure or Ctrl-C after a create was sent says what it leaves behind.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vastjob.errors import ApiError, Interrupted, UserError
from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.client import VastClient
from vastjob.vast.create import Ledger, create_body, create_once, labelled
from vastjob.vast.decide import Decision, decide
from vastjob.vast.drift import drift_warnings
from vastjob.vast.explain import NoOfferError, explain_no_offer
from vastjob.vast.history import remember
from vastjob.vast.instance import DEAD_STATES, Instance, show, until_running
from vastjob.vast.pin import Runner, resolve_commit, run_git
from vastjob.vast.plan import Plan, make_plan
from vastjob.vast.query import Candidate
from vastjob.vast.result import ApplyOptions, ApplyResult
from vastjob.vast.secrets import Secrets, read_secrets

if TYPE_CHECKING:
    from vastjob.compile import Compiled

__all__ = ["Applier", "ApplyOptions", "ApplyResult", "PriceCapError"]

# Stands in for a pinned commit while checking the bootstrap's size before anything is resolved.
_PLACEHOLDER_SHA = "5f0c3d9a81b27e4c6d3a90f1e28b74c5a6d90e13"


class PriceCapError(ApiError):
    """An instance came back priced over the job's cap (it has been destroyed)."""


@dataclass
class Applier:
    """One apply run; the client factory, git runner, output and clock are passed in."""

    job: JobSpec
    connect: Callable[[], VastClient]
    options: ApplyOptions = field(default_factory=ApplyOptions)
    environ: Mapping[str, str] | None = None
    runner: Runner = run_git
    say: Callable[[str], None] = lambda _msg: None
    confirm: Callable[[Plan], bool] = lambda _plan: False
    show_plan: Callable[[Plan], None] = lambda _plan: None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _ledger: Ledger = field(init=False)
    _decision: Decision | None = field(default=None, init=False)
    _known: set[int] = field(default_factory=set, init=False)  # the job's instances before this apply

    def run(self) -> ApplyResult:
        """Apply the job; raises a VastjobError for every refusal or failure."""
        self._ledger = Ledger(self.job.name)
        compiled, secrets = self._preflight()
        with self.connect() as client:
            existing = self._reconcile(client)
            if isinstance(existing, ApplyResult):
                return existing
            plan = self._prepare(client, compiled, secrets)
            if self.options.dry_run:
                return ApplyResult("dry_run", self.job.label, plan=plan, existing=existing)
            if not self.options.yes and not self.confirm(plan):
                return ApplyResult("declined", self.job.label, plan=plan, existing=existing)
            self._ledger.kept = [old.id for old in existing]
            self._known = {old.id for old in existing}
            try:
                result = self._launch(client, plan, secrets)
                remember(self.job)  # so that a later replace can say which fields changed
                result.existing = existing
                self._ledger.left = []  # the new instance is the result now, not something left behind
                self._retire(client, existing, result)
            except KeyboardInterrupt:
                raise Interrupted(_join("interrupted", self._ledger.note())) from None
            except ApiError as err:
                note = self._ledger.note()
                if not note:
                    raise
                raise type(err)(
                    _join(str(err), note), status=err.status, error=err.error, msg=err.msg
                ) from None
            return result

    # -- the phases ------------------------------------------------------------------------------------

    def _needs_pin(self) -> bool:
        repo = self.job.repo
        return repo is not None and self.options.pin and not repo.commit

    def _preflight(self) -> tuple[Compiled | None, Secrets]:
        """The size check and the secrets, before any network; the compiled job when no pin will change it."""
        from vastjob.compile import compile_job

        job = self.job.pinned(_PLACEHOLDER_SHA) if self._needs_pin() else self.job
        compiled = compile_job(job)
        _ = compiled.bootstrap  # the size check: an oversized bootstrap stops here
        secrets = read_secrets(self.job, self.environ)
        return (None if self._needs_pin() else compiled), secrets

    def _reconcile(self, client: VastClient) -> list[Instance] | ApplyResult:
        """The job's instances, or "up to date"; refuses what needs `--replace`."""
        job = self.job
        existing = [Instance.from_api(i) for i in labels.of_job(client.list_instances(), job.name)]
        decision = self._decision = decide(job, existing)
        if decision.running is not None:
            inst = decision.running
            return ApplyResult("up_to_date", job.label, inst.id, inst.actual_status, existing=existing)
        if decision.action == "replace" and not self.options.replace and decision.same_spec:
            # Its job is not running (it ended, failed or the host died), yet the disk still bills:
            # "up to date" would hide that, and a second instance needs the user's word.
            inst = [i for i in existing if i.label == job.label][-1]
            state = inst.actual_status if inst.gone else "stopping"
            raise UserError(
                f"instance {inst.id} of this same spec ({job.label}) is {state}: its job is not "
                f"running, and its disk is still billed. Pass --replace to create a new instance "
                f"and then destroy this one, or run `vastjob destroy {job.name}` and apply again"
            )
        if decision.action == "replace" and not self.options.replace:
            ids = ", ".join(str(i.id) for i in existing)
            raise UserError(
                f"job {job.name} already runs from a different spec (instance {ids}, label "
                f"{existing[0].label}); pass --replace to create the new instance and then destroy the old"
            )
        return existing

    def _prepare(self, client: VastClient, compiled: Compiled | None, secrets: Secrets) -> Plan:
        """Pin, compile the pinned job once, search and rank: the plan, shown; refused when nothing fits."""
        from vastjob.compile import compile_job

        job = self.job
        if compiled is None:
            assert job.repo is not None  # only a job with a repo is compiled again, once pinned
            token = secrets.values.get(job.repo.token_secret or "")
            commit = resolve_commit(job.repo, token=token, runner=self.runner)
            self.say(f"pinned {job.repo.ref} to {commit[:12]}")
            for warning in drift_warnings(job.repo, commit, job.source):
                self.say(f"warning: {warning}")
            compiled = compile_job(job.pinned(commit))
            _ = compiled.bootstrap  # rendered before the search: what is shown is what is sent
        plan = dataclasses.replace(make_plan(client, compiled, secrets), decision=self._decision)
        if not plan.candidates:
            raise NoOfferError(explain_no_offer(job, client))
        self.show_plan(plan)
        return plan

    def _launch(self, client: VastClient, plan: Plan, secrets: Secrets) -> ApplyResult:
        """Create on the best offer, moving on when one is gone or never runs; the new instance."""
        label, queue = self.job.label, list(plan.candidates)
        discarded: list[int] = []
        while queue:
            cand = queue.pop(0)
            body = create_body(self.job, cand, plan.compiled.bootstrap, secrets, client.base_url)
            instance_id = create_once(
                client,
                cand,
                body,
                ledger=self._ledger,
                attempts=self.options.create_attempts,
                say=self.say,
            )
            if instance_id is None:
                continue  # the offer is gone: next one
            self._ledger.left.append(instance_id)
            self._check_price(client, instance_id)
            rival = self._rival(client, instance_id)
            if rival is not None:
                client.destroy_instance(instance_id)
                self._ledger.left.remove(instance_id)
                self.say(
                    f"another apply of this spec created instance {rival} at the same time: kept it, "
                    f"destroyed {instance_id}"
                )
                return ApplyResult("up_to_date", label, rival, plan=plan, discarded=[*discarded, instance_id])
            self._said_created(instance_id, cand)
            if not self.options.wait:
                return ApplyResult("created", label, instance_id, "created", plan=plan, discarded=discarded)
            state = until_running(
                client,
                instance_id,
                poll_s=self.options.poll_s,
                timeout_s=self.options.wait_timeout_s,
                say=self.say,
                sleep=self.sleep,
                clock=self.clock,
            )
            if state not in DEAD_STATES:
                return ApplyResult("created", label, instance_id, state, plan=plan, discarded=discarded)
            client.destroy_instance(instance_id)
            self._ledger.left.remove(instance_id)
            discarded.append(instance_id)
            self.say(f"instance {instance_id} reached {state}: destroyed it")
            if len(discarded) > self.options.max_replacements:
                raise ApiError(
                    f"gave up after {len(discarded)} instances never reached running "
                    f"({', '.join(map(str, discarded))}, all destroyed)",
                    error="never_running",
                )
        raise ApiError(
            f"every matching offer for job {self.job.name} was gone or failed before it ran",
            error="no_such_ask",
        )

    def _retire(self, client: VastClient, existing: list[Instance], result: ApplyResult) -> None:
        """Destroy the instances the new one replaces, saying so for each."""
        for old in existing:
            client.destroy_instance(old.id)
            self._ledger.kept.remove(old.id)
            result.replaced.append(old.id)
            self.say(f"destroyed instance {old.id}, which the new one replaces ({old.label})")

    # -- launch's checks -------------------------------------------------------------------------------

    def _said_created(self, instance_id: int, cand: Candidate) -> None:
        self.say(
            f"created instance {instance_id} on offer {cand.offer.id} ({cand.offer.num_gpus}x "
            f"{cand.offer.gpu_name}, ${cand.price_per_hour:.3f}/h), label {self.job.label}"
        )

    def _rival(self, client: VastClient, instance_id: int) -> int | None:
        """An instance of this same spec that another apply, run at the same moment, created first.

        Both applies look after their create; the lower id wins, so exactly one of them destroys its own.
        """
        others = [i.id for i in labelled(client, self.job.label) if i.id not in self._known and i.alive]
        first = min(others, default=instance_id)
        return first if first < instance_id else None

    def _check_price(self, client: VastClient, instance_id: int) -> None:
        inst = show(client, instance_id)
        cap = self.job.offer.max_price_per_hour
        dph = inst.dph_total if inst else 0.0
        if dph > cap + 1e-6:
            client.destroy_instance(instance_id)
            self._ledger.left.remove(instance_id)
            raise PriceCapError(
                f"instance {instance_id} came back at ${dph:.4f}/h, over the cap of "
                f"${cap:.2f}/h: destroyed it",
                error="price_over_cap",
            )


def _join(first: str, note: str) -> str:
    return f"{first}\n{note}" if note else first
