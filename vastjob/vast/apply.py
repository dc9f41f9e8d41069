"""`vastjob apply`: rent an instance for a job, in DESIGN.md's order, so that money is only spent on purpose.

1. compile and read secrets, and check the whole create body against Vast's limits: no network yet;
2. find instances labelled for the job: the same spec hash running is "up to date"; stopped or dead, or
   another hash, needs `--replace`;
3. pin the repo's branch, search, rank, show the plan, ask (`--dry-run` stops here);
4. create with `cancel_unavail`; a gone offer moves to the next; a lost answer is checked by label first;
5. re-read the price and destroy an instance over the cap at once;
6. with `--wait`, follow to `running`, replacing an instance that reaches exited/unknown/offline.
With `--replace` the new instance is created first and the old ones destroyed after: should anything go wrong
on the way, the old instance (and whatever it holds) is still there, at the price of a short overlap.
A failure or Ctrl-C after a create was sent says what it leaves behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vastjob.errors import ApiError, Interrupted, UserError
from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.client import AnswerLost, VastClient
from vastjob.vast.pin import Runner, resolve_commit, run_git
from vastjob.vast.plan import Plan
from vastjob.vast.query import Candidate, build_query, select
from vastjob.vast.secrets import read_secrets

if TYPE_CHECKING:
    from vastjob.compile.transport import Payload

DEAD_STATES = frozenset({"exited", "unknown", "offline"})
# Stands in for a pinned commit while checking the bootstrap's size before anything is resolved.
_PLACEHOLDER_SHA = "5f0c3d9a81b27e4c6d3a90f1e28b74c5a6d90e13"


class PriceCapError(ApiError):
    """An instance came back priced over the job's cap (it has been destroyed)."""


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
    create_attempts: int = 6


@dataclass
class ApplyResult:
    """What apply did: `up_to_date`, `dry_run`, `declined` or `created` (then the instance and its state)."""

    action: str
    label: str
    instance_id: int | None = None
    state: str | None = None
    plan: Plan | None = None
    existing: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    discarded: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (secret names only, never values)."""
        return {
            "action": self.action,
            "label": self.label,
            "instance_id": self.instance_id,
            "state": self.state,
            "existing": [_brief(i) for i in self.existing],
            "replaced": self.replaced,
            "discarded": self.discarded,
            "plan": self.plan.to_json() if self.plan else None,
        }


@dataclass
class Applier:
    """One apply run; the client factory, git runner, output and clock are passed in."""

    job: JobSpec
    connect: Callable[[], VastClient]
    options: ApplyOptions = ApplyOptions()
    environ: Mapping[str, str] | None = None
    runner: Runner = run_git
    say: Callable[[str], None] = lambda _msg: None
    confirm: Callable[[Plan], bool] = lambda _plan: False
    show_plan: Callable[[Plan], None] = lambda _plan: None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # Instances this run created and has not destroyed, and the offer of a create whose answer is pending:
    # what a failure or Ctrl-C would leave behind, so the user is told.
    _left: list[int] = field(default_factory=list, init=False)
    _in_flight: int | None = field(default=None, init=False)
    _kept: list[int] = field(default_factory=list, init=False)  # old instances --replace has not destroyed
    _known: set[int] = field(default_factory=set, init=False)  # the job's instances before this apply

    def run(self) -> ApplyResult:
        """Apply the job; raises a VastjobError for every refusal or failure."""
        from vastjob.compile.transport import render_payload

        job, opts = self.job, self.options
        needs_pin = job.repo is not None and opts.pin and not job.repo.commit
        secrets = read_secrets(job, self.environ)
        # The whole create body against Vast's limits, secrets included, before any request.
        render_payload(job, commit=_PLACEHOLDER_SHA if needs_pin else None, secrets=secrets.values)

        with self.connect() as client:
            existing = labels.of_job(client.list_instances(), job.name)
            same = [i for i in existing if i.get("label") == job.label]
            alive = [i for i in same if is_alive(i)]
            if alive:
                inst = alive[-1]
                return ApplyResult(
                    "up_to_date", job.label, _id(inst), inst.get("actual_status"), existing=existing
                )
            if same and not opts.replace:
                # Its job is not running (it ended, failed or the host died), yet the disk still bills:
                # "up to date" would hide that, and a second instance needs the user's word.
                inst = same[-1]
                state = inst.get("actual_status")
                state = state if state == "stopped" or state in DEAD_STATES else "stopping"
                raise UserError(
                    f"instance {_id(inst)} of this same spec ({job.label}) is {state}: its job is not "
                    f"running, and its disk is still billed. Pass --replace to create a new instance "
                    f"and then destroy this one, or run `vastjob destroy {job.name}` and apply again"
                )
            if existing and not opts.replace:
                ids = ", ".join(str(_id(i)) for i in existing)
                raise UserError(
                    f"job {job.name} already runs from a different spec (instance {ids}, label "
                    f"{existing[0].get('label')}); pass --replace to create the new instance and "
                    "then destroy the old"
                )
            commit = None
            if needs_pin and job.repo is not None:
                token = secrets.values.get(job.repo.token_secret or "")
                commit = resolve_commit(job.repo, token=token, runner=self.runner)
                self.say(f"pinned {job.repo.ref} to {commit[:12]}")
            payload = render_payload(job, commit=commit, secrets=secrets.values, api_url=client.base_url)

            offers = client.search_offers(build_query(job.offer, job.instance.disk_gb))
            candidates = select(offers, job.offer, job.instance.disk_gb)
            plan = Plan(
                job, candidates, searched=len(offers), commit=commit, secrets=secrets, budget=payload.budget
            )
            if not candidates:
                raise UserError(
                    f"no offer matches job {job.name} within ${job.offer.max_price_per_hour:.2f}/h "
                    f"({len(offers)} found by the search, none passed the region and price filters)"
                )
            self.show_plan(plan)
            if opts.dry_run:
                return ApplyResult("dry_run", job.label, plan=plan, existing=existing)
            if not opts.yes and not self.confirm(plan):
                return ApplyResult("declined", job.label, plan=plan, existing=existing)

            self._kept = [_id(old) for old in existing]
            self._known = {_id(old) for old in existing}
            try:
                result = self._launch(client, candidates, payload, plan)
                result.existing = existing
                self._left = []  # the new instance is the result now, not something left behind
                for old in existing:
                    client.destroy_instance(_id(old))
                    self._kept.remove(_id(old))
                    result.replaced.append(_id(old))
                    self.say(
                        f"destroyed instance {_id(old)}, which the new one replaces ({old.get('label')})"
                    )
            except KeyboardInterrupt:
                raise Interrupted(_join("interrupted", self._leftovers())) from None
            except ApiError as err:
                note = self._leftovers()
                if not note:
                    raise
                raise type(err)(
                    _join(str(err), note), status=err.status, error=err.error, msg=err.msg
                ) from None
            return result

    def _leftovers(self) -> str:
        """What an apply that stops here leaves behind, and how to see or remove it; empty when nothing."""
        name = self.job.name
        notes = []
        if self._left:
            ids = ", ".join(map(str, self._left))
            notes.append(
                f"instance {ids} was created and is still there, billed: `vastjob status {name}` shows it, "
                f"`vastjob destroy {name}` removes it"
            )
        if self._in_flight is not None:
            notes.append(
                f"a create on offer {self._in_flight} was sent and its answer not read: it may have made "
                f"an instance; `vastjob status {name}` shows it"
            )
        if self._kept:
            notes.append(f"the instance it was to replace, {', '.join(map(str, self._kept))}, was kept")
        return "; ".join(notes)

    # -- create, check, wait ---------------------------------------------------------------------------

    def _launch(
        self, client: VastClient, candidates: list[Candidate], payload: Payload, plan: Plan
    ) -> ApplyResult:
        queue = list(candidates)
        discarded: list[int] = []
        while queue:
            cand = queue.pop(0)
            body = create_body(self.job, cand, payload)
            instance_id = self._create(client, cand, body)
            if instance_id is None:
                continue  # the offer is gone: next one
            self._left.append(instance_id)
            self._check_price(client, instance_id)
            rival = self._rival(client, instance_id)
            if rival is not None:
                client.destroy_instance(instance_id)
                self._left.remove(instance_id)
                self.say(
                    f"another apply of this spec created instance {rival} at the same time: kept it, "
                    f"destroyed {instance_id}"
                )
                return ApplyResult(
                    "up_to_date", self.job.label, rival, None, plan=plan, discarded=[*discarded, instance_id]
                )
            self.say(
                f"created instance {instance_id} on offer {cand.offer.id} ({cand.offer.num_gpus}x "
                f"{cand.offer.gpu_name}, ${cand.price_per_hour:.3f}/h), label {self.job.label}"
            )
            if not self.options.wait:
                return ApplyResult(
                    "created", self.job.label, instance_id, "created", plan=plan, discarded=discarded
                )
            state = self._wait(client, instance_id)
            if state not in DEAD_STATES:
                return ApplyResult(
                    "created", self.job.label, instance_id, state, plan=plan, discarded=discarded
                )
            client.destroy_instance(instance_id)
            self._left.remove(instance_id)
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

    def _rival(self, client: VastClient, instance_id: int) -> int | None:
        """An instance of this same spec that another apply, run at the same moment, created first.

        Both applies look after their create; the lower id wins, so exactly one of them destroys its own.
        """
        others = [
            _id(i)
            for i in client.list_instances({"label": {"eq": self.job.label}})
            if i.get("label") == self.job.label and _id(i) not in self._known and is_alive(i)
        ]
        first = min(others, default=instance_id)
        return first if first < instance_id else None

    def _create(self, client: VastClient, cand: Candidate, body: Mapping[str, Any]) -> int | None:
        """The new instance's id, or None when the offer is gone; never leaves two instances behind.

        Every retry goes to the same offer, which leaves the market once rented, so a create that did land
        turns a resend into "gone" rather than a second instance; "gone" after an uncertain attempt is
        therefore checked by label before moving on to another offer.
        """
        before = {_id(i) for i in client.list_instances({"label": {"eq": self.job.label}})}
        uncertain = False
        for attempt in range(self.options.create_attempts):
            if attempt:
                client.backoff(attempt - 1)
            self._in_flight = cand.offer.id  # until an answer says what became of it
            lost = False
            try:
                created = client.create_instance(cand.offer.id, body)
            except AnswerLost:
                uncertain = lost = True
                self.say(f"the answer to the create on offer {cand.offer.id} was lost; checking by label")
            except ApiError as err:
                if not uncertain:
                    self._in_flight = None  # an answer came and nothing earlier is in doubt
                if err.status in (404, 410) or err.error == "no_such_ask":
                    landed = self._look(client, before, tries=3) if uncertain else None
                    self._in_flight = None
                    if landed is None:
                        self.say(f"offer {cand.offer.id} is gone ({err.status} {err.error}); trying the next")
                    return landed
                if err.status == 429:
                    continue  # refused before doing anything: safe to send again
                if err.status is None or err.status < 500:
                    raise
                uncertain = True
                self._in_flight = cand.offer.id
            else:
                self._in_flight = None
                return created
            # After a 5xx or a lost answer the create may have happened: look before sending it again.
            # A lost answer may belong to a create still being carried out, so that look is patient.
            landed = self._look(client, before, tries=3 if lost else 1)
            if landed is not None:
                self._in_flight = None
                return landed
        raise ApiError(
            f"create on offer {cand.offer.id} failed {self.options.create_attempts} times",
            error="create_failed",
        )

    def _look(self, client: VastClient, before: set[int], tries: int = 1) -> int | None:
        """A new instance with the job's label (one not in `before`), looking up to `tries` times."""
        for attempt in range(tries):
            if attempt:
                client.backoff(attempt - 1)
            for inst in client.list_instances({"label": {"eq": self.job.label}}):
                if inst.get("label") == self.job.label and _id(inst) not in before:
                    return _id(inst)
        return None

    def _check_price(self, client: VastClient, instance_id: int) -> None:
        inst = client.show_instance(instance_id)
        cap = self.job.offer.max_price_per_hour
        dph = float(inst.get("dph_total") or 0.0) if inst else 0.0
        if dph > cap + 1e-6:
            client.destroy_instance(instance_id)
            self._left.remove(instance_id)
            raise PriceCapError(
                f"instance {instance_id} came back at ${dph:.4f}/h, over the cap of "
                f"${cap:.2f}/h: destroyed it",
                error="price_over_cap",
            )

    def _wait(self, client: VastClient, instance_id: int) -> str:
        """Follow an instance until running, dead, stopped or gone; the last state seen."""
        deadline = self.clock() + self.options.wait_timeout_s
        polls = 0
        last: str | None = "?"
        while True:
            inst = client.show_instance(instance_id)
            state = None if inst is None else inst.get("actual_status")
            if inst is None:
                self.say(f"instance {instance_id} is gone (finished and destroyed itself, or destroyed)")
                return "destroyed"
            if state != last:
                self.say(
                    f"instance {instance_id}: {state or 'provisioning'}"
                    + (f" ({inst['status_msg']})" if inst.get("status_msg") else "")
                )
                last = state
            if state in ("running", "stopped") or state in DEAD_STATES:
                return str(state)
            if self.clock() > deadline:
                raise ApiError(
                    f"instance {instance_id} did not reach running within "
                    f"{self.options.wait_timeout_s:.0f}s (last state {state or 'provisioning'})",
                    error="timeout",
                )
            # Early states pass quickly, so look often at first, then every poll_s.
            self.sleep(min(self.options.poll_s, 0.25 * 2**polls))
            polls += 1


def create_body(job: JobSpec, cand: Candidate, payload: Payload) -> dict[str, Any]:
    """The create request: the payload's onstart, and its env (the secrets, as one entry each or in parts,
    the script's parts in the chunked form, the API base URL the script calls back to)."""
    return {
        "client_id": "me",
        "image": job.instance.image,
        "disk": job.instance.disk_gb,
        "label": job.label,
        "onstart": payload.onstart,
        "env": dict(payload.env),
        "price": cand.bid,
        "runtype": "ssh",
        "cancel_unavail": True,
        "image_login": None,
    }


def is_alive(inst: Mapping[str, Any]) -> bool:
    """Whether an instance runs or is on its way to running (not stopped, stopping or dead)."""
    state = inst.get("actual_status")
    if state in DEAD_STATES or inst.get("intended_status") == "stopped":
        return False
    # A stopped instance asked to run again (a restart, or an interruptible one outbid) is coming back.
    return state != "stopped" or inst.get("intended_status") == "running"


def _join(first: str, note: str) -> str:
    return f"{first}\n{note}" if note else first


def _id(inst: Mapping[str, Any]) -> int:
    return int(inst.get("id") or 0)


def _brief(inst: Mapping[str, Any]) -> dict[str, Any]:
    return {k: inst.get(k) for k in ("id", "label", "actual_status", "dph_total")}
