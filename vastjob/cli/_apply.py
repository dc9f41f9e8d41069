"""What offers, plan and apply do once their options are read: the one plan of a spec, and apply against
Vast or (with `--local`) an emulator started here, followed to the job's end when asked."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vastjob.cli._common import OutputFormat, say
from vastjob.cli._vast import ask, connect, load

if TYPE_CHECKING:
    from vastjob.cli._common import Result
    from vastjob.spec.model import JobSpec
    from vastjob.vast.apply import ApplyOptions
    from vastjob.vast.plan import Plan
    from vastjob.vast.result import ApplyResult


def plan_of(
    job: str, overrides: tuple[str, ...], api_key: str | None, *, secrets: bool, action: bool = False
) -> Plan:
    """The plan for a spec as it stands (not pinned): the one search -> select -> plan of offers and plan.

    No matching offer is an error (exit 1) that says which filter left none, and what the cap excluded.
    """
    from vastjob.compile import compile_job
    from vastjob.vast.explain import NoOfferError, explain_no_offer
    from vastjob.vast.hosts import BadHosts
    from vastjob.vast.plan import make_plan
    from vastjob.vast.secrets import find_secrets

    compiled = compile_job(load(job, overrides))
    found = find_secrets(compiled.job)[0] if secrets else None
    budget = None
    if secrets:  # plan: the budget of the create body, checked before the network
        from vastjob.vast.account import resolve_base_url

        budget = compiled.payload(found.values if found else None, resolve_base_url()).budget
    with connect(api_key) as client:
        the_plan = make_plan(client, compiled, found, budget, BadHosts.default().active())
        if not the_plan.candidates:
            raise NoOfferError(explain_no_offer(compiled.job, client))
        if action:  # what apply would do with the job's instances: one more look at the account
            from vastjob.vast.decide import decide
            from vastjob.vast.lifecycle import find

            decision = decide(compiled.job, find(client, compiled.job.name))
            the_plan = dataclasses.replace(the_plan, decision=decision)
        return the_plan


def _remember(spec: JobSpec, applied: ApplyResult) -> None:
    """An instance just rented goes into the local job history (what `status`, `logs` and `cost` read)."""
    from vastjob.vast.jobrecord import JobRecord, save

    if applied.action != "created" or applied.instance_id is None:
        return
    chosen = applied.plan.chosen if applied.plan else None
    offer = None if chosen is None else chosen.offer
    save(
        JobRecord.new(
            spec,
            applied.instance_id,
            offer_id=None if offer is None else offer.id,
            dph_total=None if chosen is None else chosen.price_per_hour,
            storage_per_hour=None,
            state=applied.state,
        )
    )


def apply_job(
    job: str,
    overrides: tuple[str, ...],
    opts: ApplyOptions,
    api_key: str | None,
    output: OutputFormat,
    *,
    local: bool,
    sandbox: str | None,
    keep: bool = False,
    follow: bool = False,
) -> Result:
    """Apply the spec, against Vast or (with --local) an emulator started here; the plan shows as text."""
    from vastjob.vast.apply import Applier

    spec = load(job, overrides)

    def show(the_plan: Plan) -> None:
        if output == "text":
            click.echo(the_plan.render())

    def confirm(_plan: Plan) -> bool:
        return ask("rent the offer marked *?")

    if not local:
        from vastjob.vast.hosts import BadHosts

        applied = Applier(
            spec,
            lambda: connect(api_key),
            options=opts,
            say=say,
            confirm=confirm,
            show_plan=show,
            hosts=BadHosts.default(),
        ).run()
        _remember(spec, applied)
        if not follow or applied.instance_id is None or applied.action == "dry_run":
            return applied
        from vastjob.cli.progress import follow_output
        from vastjob.vast.follow import follow_instance

        with connect(api_key) as client, follow_output(output == "text") as sinks:
            return follow_instance(
                client,
                spec,
                applied,
                emit=sinks.line,
                progress=sinks.progress,
                poll_s=min(opts.poll_s, 2.0),
            )
    from vastjob.cli.signals import terminate_as_interrupt
    from vastjob.emulator import Emulator
    from vastjob.vast.local import run_local
    from vastjob.vast.sandboxes import finish, new_sandbox

    # A folder the user named is theirs and always kept; one made here goes after a success.
    where = Path(sandbox).resolve() if sandbox else new_sandbox()
    from vastjob.cli.progress import follow_output

    # A SIGTERM ends the job's processes here as Ctrl-C does.
    with terminate_as_interrupt(), follow_output(output == "text") as sinks:
        result = run_local(
            spec,
            lambda path: Emulator(sandbox=path),
            where,
            options=opts,
            say=say,
            confirm=confirm,
            show_plan=show,
            stream=sinks.line,  # the job's log as it comes
            progress=sinks.progress,
        )
    succeeded = result.local.outcome == "succeeded"
    result.local.sandbox_removed = finish(where, succeeded=succeeded, keep=keep or sandbox is not None)
    return result
