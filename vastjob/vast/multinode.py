"""`vastjob apply` for a multi-node job, all or nothing: the overlay, then one instance per rank, each
followed to `running` within the boot allowance; should any node fail to be created, come back over the
cap or fail to start, every node created and the overlay are destroyed before the error is raised.

Re-applying finds the nodes by their labels (`<job label>.n<rank>`): all of them alive is "up to date".
"""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vastjob.compile.distributed import helper_env
from vastjob.errors import ApiError, Interrupted, RenderError, UserError
from vastjob.spec.model import JobSpec
from vastjob.vast import labels
from vastjob.vast.checks import confirm_price, mark_priced
from vastjob.vast.client import VastClient
from vastjob.vast.cluster_plan import ClusterPlan
from vastjob.vast.create import Creator, create_body
from vastjob.vast.deadline import label_for
from vastjob.vast.instance import DEAD_STATES, Instance, until_running
from vastjob.vast.limits import ENV_TOTAL_MAX, entry_size
from vastjob.vast.overlays import delete_job_overlays, delete_overlay, ensure_overlay
from vastjob.vast.proof import Looker, destroy_sure
from vastjob.vast.result import ApplyResult
from vastjob.vast.secrets import Secrets

if TYPE_CHECKING:
    from vastjob.vast.apply import Applier
    from vastjob.vast.reap_rules import Verdict

RANK_TAG = "rank-"  # the label tag naming a node's rank


def node_label(job: JobSpec, rank: int, nonce: str | None = None, now: float | None = None) -> str:
    """The label of one node: a single job's label (spec, nonce, deadline), its nonce made the rank's, and
    the rank as a tag; every node stays an instance of the job for status, stop, destroy and reap."""
    per_rank = None if nonce is None else f"{nonce}n{rank}"
    return f"{label_for(job, now, per_rank)}:{RANK_TAG}{rank}"


def rank_of(inst: Instance) -> int | None:
    """The rank a node's label names, or None."""
    parsed = labels.parse_label(inst.label)
    tags = [t[len(RANK_TAG) :] for t in (parsed.extra if parsed else ()) if t.startswith(RANK_TAG)]
    return int(tags[0]) if tags and tags[0].isdigit() else None


def overlay_name(job: JobSpec) -> str:
    """The job's overlay network: one name per spec, so that an apply run again finds it."""
    return f"vastjob-{job.name}-{job.spec_hash[:8]}"


@dataclass
class MultiResult(ApplyResult):
    """What a multi-node apply did: rank 0 as the instance, every node by rank, and the overlay."""

    nodes: list[int] = field(default_factory=list)
    overlay: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The single-node fields plus `nodes` (instance ids by rank) and `overlay`."""
        return {**super().to_json(), "nodes": self.nodes, "overlay": self.overlay}

    def render(self) -> str:
        """One line: the nodes and their overlay."""
        if self.action != "created" and self.action != "up_to_date":
            return super().render()
        ids = ", ".join(f"rank {r}: {i}" for r, i in enumerate(self.nodes))
        return f"{len(self.nodes)} nodes ({ids}) on overlay {self.overlay} run {self.label}"


def with_whole_jobs(verdicts: list[Verdict]) -> list[Verdict]:
    """Reap's verdicts, with every node of a multi-node job ended once one of its nodes is: the job cannot
    go on without it, and the others would bill while they wait for it."""
    ended = {
        labels.spec_of(v.instance.label): v
        for v in verdicts
        if v.action == "destroy" and rank_of(v.instance) is not None
    }
    out = []
    for v in verdicts:
        first = ended.get(labels.spec_of(v.instance.label))
        if v.action != "destroy" and first is not None and rank_of(v.instance) is not None:
            why = f"a node of its job (instance {first.instance.id}) is reaped: {first.why}"
            v = replace(v, action="destroy", reason=first.reason, why=why)
        out.append(v)
    return out


def reap_overlays(client: VastClient, reaped: list[Instance]) -> list[str]:
    """Delete the overlays of the multi-node jobs whose nodes reap destroyed; their names."""
    names = {p.name for i in reaped if rank_of(i) is not None and (p := labels.parse_label(i.label))}
    return [gone for name in sorted(names) for gone in delete_job_overlays(client, name)]


def teardown(client: VastClient, ids: list[int], overlay: str | None, say: Any) -> None:
    """Destroy every node (looking until each is gone, as single jobs do), then the overlay."""
    for instance_id in ids:
        destroy_sure(client, instance_id)
        say(f"destroyed node instance {instance_id}")
    if overlay is not None:
        delete_overlay(client, overlay)
        say(f"deleted overlay {overlay}")


# -- apply -----------------------------------------------------------------------------------------------


def apply_multinode(applier: Applier) -> ApplyResult:
    """Apply a multi-node job through `applier`'s phases and options; all nodes, or none of them."""
    job = applier.job
    compiled, secrets = applier._preflight()
    with applier.connect() as client:
        up = _up_to_date(client, job)
        if up is not None:
            return up
        plan = applier._prepare(client, compiled, secrets)
        assert isinstance(plan, ClusterPlan)
        if applier.options.dry_run:
            return MultiResult("dry_run", job.label, plan=plan)
        if not applier.options.yes and not applier.confirm(plan):
            return MultiResult("declined", job.label, plan=plan)
        made: list[int] = []
        name = overlay_name(plan.job)
        try:
            return _launch(applier, client, plan, secrets, made)
        except KeyboardInterrupt:
            teardown(client, made, name, applier.say)
            raise Interrupted("interrupted: every node and the overlay were destroyed") from None
        except Exception:
            teardown(client, made, name, applier.say)
            raise


def _up_to_date(client: VastClient, job: JobSpec) -> MultiResult | None:
    """ "Up to date" when every node of this spec is alive; refused when only some are, or another spec's."""
    existing = [Instance.from_api(i) for i in labels.of_job(client.list_instances(), job.name)]
    if not existing:
        return None
    alive = {rank_of(i): i for i in existing if i.alive and labels.spec_of(i.label) == job.label}
    if len(existing) == job.nodes and all(r in alive for r in range(job.nodes)):
        ids = [alive[r].id for r in range(job.nodes)]
        return MultiResult(
            "up_to_date",
            job.label,
            ids[0],
            alive[0].actual_status,
            existing=existing,
            nodes=ids,
            overlay=overlay_name(job),
        )
    shown = ", ".join(f"{i.id} ({i.label}, {i.state})" for i in existing)
    raise UserError(
        f"job {job.name} has instances that are not this spec's whole set of {job.nodes} nodes "
        f"({shown}): run `vastjob destroy {job.name}` and apply again"
    )


def _launch(
    applier: Applier, client: VastClient, plan: ClusterPlan, secrets: Secrets, made: list[int]
) -> MultiResult:
    job, opts, say = plan.job, applier.options, applier.say
    name = overlay_name(job)
    payload = plan.compiled.payload(secrets.values, client.base_url)  # the one the plan checked
    job_nonce = random.token_hex(8)  # the nodes of this job answer only each other
    extra = {
        **helper_env(),
        f"-n {name}": "1",
        "VASTJOB_NODE_RANK": "0",
        "VASTJOB_NONCE": job_nonce,
        "VASTJOB_SUBNET": "255.255.255.255/32",
    }  # the longest subnet text stands in for the real one
    size = sum(entry_size(k, v) for k, v in {**payload.env, **extra}.items())
    if size > ENV_TOTAL_MAX:  # refused before anything is made
        raise RenderError(
            f"job {job.name}: a node's create env would be {size} characters, over Vast's "
            f"limit of {ENV_TOTAL_MAX} (the peer helper and node settings add {size - payload.budget.env})"
        )
    net = ensure_overlay(client, plan.cluster_id, name)
    say(f"overlay {name} on cluster {plan.cluster_id}, subnet {net['subnet']}")
    queue = [*plan.nodes, *plan.spares]
    for rank in range(job.nodes):
        label = applier._ledger.label = node_label(job, rank, applier._nonce, applier.wall())
        # Each rank's creates carry a nonce of their own, so a lost answer is found as that rank's node.
        looker = Looker(client, job.label, f"{applier._nonce}n{rank}", opts.settle_s, applier.sleep, say)
        creator = Creator(
            client, looker, applier._ledger, say, applier.sleep, opts.max_creates, opts.create_attempts
        )
        instance_id = None
        while instance_id is None:
            if not queue:
                raise ApiError(
                    f"cluster {plan.cluster_id} has no offer left for rank {rank}", error="no_such_ask"
                )
            cand = queue.pop(0)
            body = create_body(job, cand, payload, label)
            body["env"] = {
                **body["env"],
                **extra,
                "VASTJOB_NODE_RANK": str(rank),
                "VASTJOB_SUBNET": str(net["subnet"]),
            }
            instance_id = creator.create(cand, body)
        made.append(instance_id)
        applier._ledger.left.append(instance_id)
        inst = confirm_price(client, instance_id, job.offer.max_price_per_hour, applier._ledger.left)
        mark_priced(client, inst, say)
        say(
            f"created rank {rank}: instance {instance_id} on offer {cand.offer.id}, "
            f"${cand.price_per_hour:.3f}/h"
        )
    states = []
    for rank, instance_id in enumerate(made):
        state = until_running(
            client,
            instance_id,
            poll_s=opts.poll_s,
            timeout_s=job.shutdown.boot_allowance_s,
            say=say,
            sleep=applier.sleep,
            clock=applier.clock,
        )
        if state in DEAD_STATES or state == "stopped":  # destroyed: it ran, and ended itself
            raise ApiError(
                f"node {rank} (instance {instance_id}) reached {state} instead of running",
                error="never_running",
            )
        states.append(state)
    applier._ledger.left = []
    return MultiResult("created", job.label, made[0], states[0], plan=plan, nodes=list(made), overlay=name)
