"""`vastjob apply`: rent an instance for a job, in phases, so that money is only spent on purpose.

1. preflight: compile and read secrets, and check the whole create body against Vast's limits: no network
   yet;
2. reconcile: find instances labelled for the job: the same spec hash running, its price confirmed, is
   "up to date" (one whose price was never confirmed is checked as a new one is); stopped or dead, or
   another hash, needs `--replace`;
3. prepare: pin the repo's branch, compile the pinned job once, search, rank, show the plan, ask
   (`--dry-run` stops here);
4. launch: create with `cancel_unavail` (the at-most-once protocol of `vastjob.vast.create`); re-read the
   price and destroy an instance over the cap (or of unknown price) at once, and a bid left stopped; once
   the list shows the new instance, keep the lower id of two applies' instances of one spec; record the
   confirmed price in the label; with `--wait`, follow it to `running`, replacing an instance that
   reaches exited/unknown/offline (or a bid that stops);
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
from vastjob.vast import labels, rivals
from vastjob.vast.backstop import NEVER_RAN, wait_running
from vastjob.vast.checks import PriceCapError, bid_left_stopped, confirm_price, confirmed, mark_priced
from vastjob.vast.client import VastClient
from vastjob.vast.create import Creator, Ledger, create_body
from vastjob.vast.deadline import label_for
from vastjob.vast.decide import Decision, decide
from vastjob.vast.drift import drift_warnings
from vastjob.vast.explain import NoOfferError, explain_no_offer
from vastjob.vast.history import remember
from vastjob.vast.hosts import BadHosts, remember_offer
from vastjob.vast.instance import Instance
from vastjob.vast.pin import Runner, resolve_commit, run_git
from vastjob.vast.plan import Plan, make_plan
from vastjob.vast.proof import Looker, destroy_sure, of_spec
from vastjob.vast.query import Candidate
from vastjob.vast.result import ApplyOptions, ApplyResult
from vastjob.vast.secrets import Secrets, read_secrets

if TYPE_CHECKING:
    from vastjob.compile import Compiled

__all__ = ["Applier", "ApplyOptions", "ApplyResult", "PriceCapError"]

# Stands in for a pinned commit while checking the bootstrap's size before anything is resolved.
_PLACEHOLDER_SHA = "5f0c3d9a81b27e4c6d3a90f1e28b74c5a6d90e13"


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
    wall: Callable[[], float] = time.time  # the epoch clock deadlines are written in
    hosts: BadHosts | None = None  # machines to skip, and where to remember one that never ran
    _ledger: Ledger = field(init=False)
    _decision: Decision | None = field(default=None, init=False)
    _known: set[int] = field(default_factory=set, init=False)  # the job's instances before this apply
    _nonce: str = field(default_factory=labels.new_nonce, init=False)  # this apply's, in its creates' label

    @property
    def create_label(self) -> str:
        """The label this apply's creates carry: the spec's, then this apply's nonce."""
        job = self.job
        return str(labels.Label(job.name, job.spec_hash, self._nonce))

    def run(self) -> ApplyResult:
        """Apply the job; raises a VastjobError for every refusal or failure."""
        self._ledger = Ledger(self.job.name, self.create_label)
        if self.job.nodes > 1:
            from vastjob.vast.multinode import apply_multinode

            return apply_multinode(self)  # all nodes and their overlay, or none of them
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
                kind = PriceCapError if isinstance(err, PriceCapError) else ApiError
                raise kind(_join(str(err), note), status=err.status, error=err.error, msg=err.msg) from None
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
        secrets = read_secrets(self.job, self.environ)
        compiled.payload(secrets.values)  # the budget, secrets included: what no form can carry stops here
        return (None if self._needs_pin() else compiled), secrets

    def _reconcile(self, client: VastClient) -> list[Instance] | ApplyResult:
        """The job's instances, or "up to date"; refuses what needs `--replace`."""
        job = self.job
        existing = [Instance.from_api(i) for i in labels.of_job(client.list_instances(), job.name)]
        decision = self._decision = decide(job, existing)
        if decision.running is not None:
            inst = confirmed(client, decision.running, job.name, job.offer.max_price_per_hour, self.say)
            return ApplyResult("up_to_date", job.label, inst.id, inst.actual_status, existing=existing)
        if decision.action == "replace" and not self.options.replace and decision.same_spec:
            # Its job is not running (it ended, failed or the host died), yet the disk still bills:
            # "up to date" would hide that, and a second instance needs the user's word.
            inst = [i for i in existing if labels.spec_of(i.label) == job.label][-1]
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
        # Rendered before the search: what is shown is what is sent.
        payload = compiled.payload(secrets.values, client.base_url)
        bad = self.hosts.active() if self.hosts else None
        found = make_plan(client, compiled, secrets, payload.budget, bad)
        plan = dataclasses.replace(found, decision=self._decision)
        if not plan.candidates:
            raise NoOfferError(explain_no_offer(job, client))
        self.show_plan(plan)
        return plan

    def _launch(self, client: VastClient, plan: Plan, secrets: Secrets) -> ApplyResult:
        """Create on the best offer, moving on when one is gone or never runs; the new instance."""
        label, queue, opts = self.job.label, list(plan.candidates), self.options
        payload = plan.compiled.payload(secrets.values, client.base_url)  # the one _prepare checked
        looker = Looker(client, label, self._nonce, opts.settle_s, self.sleep, self.say)
        creator = Creator(
            client, looker, self._ledger, self.say, self.sleep, opts.max_creates, opts.create_attempts
        )
        discarded: list[int] = []
        while queue:
            cand = queue.pop(0)
            dated = self._ledger.label = label_for(self.job, self.wall(), self._nonce)
            body = create_body(self.job, cand, payload, dated)
            try:
                instance_id = creator.create(cand, body)
            except ApiError as err:
                if err.error != "create_budget":
                    raise
                return self._late_rival(client, plan, discarded, err)
            if instance_id is None:
                continue  # the offer is gone or refused this create: next one
            self._ledger.left.append(instance_id)
            inst = confirm_price(client, instance_id, self.job.offer.max_price_per_hour, self._ledger.left)
            self._ledger.priced.add(instance_id)  # confirmed here, whether or not the label can say so
            if bid_left_stopped(inst, cand.bid):
                self._discard(client, instance_id, discarded, "is a bid left stopped (outbid at once)")
                continue
            rival = rivals.first(
                client,
                rivals.listed_with(looker, instance_id, self.options.settle_s),
                self._known,
                instance_id,
                self.job.offer.max_price_per_hour,
            )
            if rival is not None:
                self._discard(client, instance_id, None, "is a second instance of this spec")
                self.say(
                    f"another apply of this spec created instance {rival.id} at the same time: kept it, "
                    f"destroyed {instance_id}"
                )
                return self._adopted(client, rival, plan, [*discarded, instance_id])
            mark_priced(client, inst, self.say)
            self._said_created(instance_id, cand)
            if not opts.wait:
                return ApplyResult("created", label, instance_id, "created", plan=plan, discarded=discarded)
            state = wait_running(  # the boot allowance bounds it, as it bounds the reaper's patience
                client,
                instance_id,
                self.job,
                poll_s=opts.poll_s,
                wait_timeout_s=opts.wait_timeout_s,
                say=self.say,
                sleep=self.sleep,
                clock=self.clock,
            )
            stopped_bid = state == "stopped" and cand.bid is not None
            if state not in NEVER_RAN and not stopped_bid:
                return ApplyResult("created", label, instance_id, state, plan=plan, discarded=discarded)
            self._discard(client, instance_id, discarded, f"reached {state}")
            remember_offer(self.hosts, cand, f"instance {instance_id} reached {state}")
            if len(discarded) > opts.max_replacements:
                raise ApiError(
                    f"gave up after {len(discarded)} instances never reached running "
                    f"({', '.join(map(str, discarded))}, all destroyed)",
                    error="never_running",
                )
        failed = ApiError(
            f"every matching offer for job {self.job.name} was gone or failed before it ran",
            error="no_such_ask",
        )
        return self._late_rival(client, plan, discarded, failed)

    def _late_rival(self, client: VastClient, plan: Plan, discarded: list[int], err: ApiError) -> ApplyResult:
        """When no offer could be had: "up to date" if another apply of this spec took one, else `err`."""
        listed = of_spec(client, self.job.label)
        rival = rivals.first(client, listed, self._known, None, self.job.offer.max_price_per_hour)
        if rival is None:
            raise err
        self.say(f"another apply of this spec created instance {rival.id} meanwhile: kept it")
        return self._adopted(client, rival, plan, discarded)

    def _adopted(self, client: VastClient, rival: Instance, plan: Plan, discarded: list[int]) -> ApplyResult:
        """ "Up to date" with another apply's instance, seen alive after this apply's own went."""
        state = rivals.still_there(client, rival)
        return ApplyResult("up_to_date", self.job.label, rival.id, state, plan=plan, discarded=discarded)

    def _retire(self, client: VastClient, existing: list[Instance], result: ApplyResult) -> None:
        """Destroy the instances the new one replaces, saying so for each."""
        for old in existing:
            destroy_sure(client, old.id, patience=self.options.destroy_patience, sleep=self.sleep)
            self._ledger.kept.remove(old.id)
            result.replaced.append(old.id)
            self.say(f"destroyed instance {old.id}, which the new one replaces ({old.label})")

    # -- launch's checks -------------------------------------------------------------------------------

    def _said_created(self, instance_id: int, cand: Candidate) -> None:
        self.say(
            f"created instance {instance_id} on offer {cand.offer.id} ({cand.offer.num_gpus}x "
            f"{cand.offer.gpu_name}, ${cand.price_per_hour:.3f}/h), label {self._ledger.label}"
        )

    def _discard(self, client: VastClient, instance_id: int, discarded: list[int] | None, why: str) -> None:
        """Destroy one of this apply's instances for sure, saying why; it stays in the ledger until gone."""
        destroy_sure(client, instance_id, patience=self.options.destroy_patience, sleep=self.sleep)
        self._ledger.left.remove(instance_id)
        if discarded is not None:
            discarded.append(instance_id)
            self.say(f"instance {instance_id} {why}: destroyed it")


def _join(first: str, note: str) -> str:
    return f"{first}\n{note}" if note else first
