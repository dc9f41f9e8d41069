"""The commands that plan and rent: offers, plan and apply (also `--local`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vastjob.cli._common import OutputFormat, run, say
from vastjob.cli._vast import ask, connect, job_options, load
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli._common import Result
    from vastjob.vast.apply import ApplyOptions
    from vastjob.vast.plan import Plan


def _plan(
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


@click.command(
    epilog=footer(
        ["vastjob offers jobs/burgers512.yaml --limit 10",
         "vastjob offers jobs/burgers512.yaml --set offer.max_price_per_hour=3 -o json"],
        {0: "offers listed", 1: "a spec problem, or no offer matches (it says which filter left none)",
         3: None},
    )
)
@job_options
@click.option("--limit", default=20, show_default=True, help="How many offers to list.")
def offers(
    job: str, overrides: tuple[str, ...], limit: int, api_key: str | None, output: OutputFormat
) -> None:
    """List the offers that match JOB, best first, with the total $/h and the cost for its max_runtime."""

    def go() -> Result:
        from vastjob.cli.results import Offers

        plan = _plan(job, overrides, api_key, secrets=False)
        return Offers(plan.candidates[:limit], plan.job.run.max_runtime_s)

    run(go, output)


@click.command(
    epilog=footer(
        ["vastjob plan jobs/burgers512.yaml",
         "vastjob plan jobs/burgers512.yaml --set env.RESET_CACHE=0 -o yaml"],
        {0: "planned", 1: "a spec problem, or no offer matches (it says which filter left none)", 3: None},
    )
)
@job_options
def plan(job: str, overrides: tuple[str, ...], api_key: str | None, output: OutputFormat) -> None:
    """Show the resolved JOB, its step graph, the offer apply would rent and the runners-up.

    For a sweep: each run's offer and worst case, refused when the worst case is over the budget."""
    from vastjob.cli.sweep_cmds import plan_sweep, sweep_at

    def go() -> Result:
        sweep = sweep_at(job, overrides)
        if sweep is not None:
            return plan_sweep(sweep, api_key)
        return _plan(job, overrides, api_key, secrets=True, action=True)

    run(go, output)


@click.command(
    epilog=footer(
        ["vastjob apply jobs/demo.yaml --local --yes      # no account: the whole cycle on this machine",
         "vastjob apply jobs/burgers512.yaml              # shows the plan and asks",
         "vastjob apply jobs/burgers512.yaml --yes --wait",
         "vastjob apply jobs/burgers512.yaml --replace --yes"],
        {0: "rented (or up to date, or --dry-run); with --local, the job did not fail",
         1: "a spec problem, --replace needed, no offer, the question not answered yes, "
            "or (--local) the job failed",
         3: "the Vast API failed, or an instance came back over the price cap (destroyed)", 130: None},
    )
)
@job_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask before renting.")
@click.option("--dry-run", is_flag=True, help="Stop after showing the plan: nothing is created.")
@click.option("--replace", is_flag=True, help="Replace the job's instance from a different spec (new first).")
@click.option(
    "--wait", is_flag=True, help="Follow the instance to running, replacing one that never gets there."
)
@click.option("--no-pin", is_flag=True, help="Do not pin repo.ref to its current commit.")
@click.option("--wait-timeout", default=1800, show_default=True, help="Seconds --wait waits for running.")
@click.option("--local", is_flag=True, help="Run the job on this machine against a local emulator.")
@click.option(
    "--sandbox",
    type=click.Path(file_okay=False),
    help="With --local: where instances run (default: a new folder under ~/.cache/vastjob/local).",
)
@click.option("--keep", is_flag=True, help="With --local: keep the sandbox after a success too.")
@click.option(
    "--within-budget", is_flag=True, help="A sweep over its worst case: start only what its budget allows."
)
@click.option("--rerun-failed", is_flag=True, help="A sweep: launch its failed runs again.")
def apply(
    job: str,
    overrides: tuple[str, ...],
    yes: bool,
    dry_run: bool,
    replace: bool,
    wait: bool,
    no_pin: bool,
    wait_timeout: int,
    local: bool,
    sandbox: str | None,
    keep: bool,
    within_budget: bool,
    rerun_failed: bool,
    api_key: str | None,
    output: OutputFormat,
) -> None:
    """Rent an instance for JOB and start it; re-applying the same spec creates nothing.

    For a sweep: launch its runs, max_parallel at a time within its budget, follow them to their end and
    sum them up; Ctrl-C detaches, and applying it again resumes."""
    from vastjob.vast.apply import ApplyOptions

    opts = ApplyOptions(
        yes=yes,
        dry_run=dry_run,
        replace=replace,
        wait=wait,
        pin=not no_pin,
        wait_timeout_s=float(wait_timeout),
    )
    from vastjob.cli.sweep_cmds import apply_sweep, sweep_at

    def go() -> Result:
        sweep = sweep_at(job, overrides)
        if sweep is not None:
            return apply_sweep(
                sweep,
                opts,
                api_key,
                within_budget=within_budget,
                rerun_failed=rerun_failed,
                local=local,
                sandbox=sandbox,
            )
        return _apply(job, overrides, opts, api_key, output, local=local, sandbox=sandbox, keep=keep)

    run(go, output)


def _apply(
    job: str,
    overrides: tuple[str, ...],
    opts: ApplyOptions,
    api_key: str | None,
    output: OutputFormat,
    *,
    local: bool,
    sandbox: str | None,
    keep: bool = False,
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

        return Applier(
            spec,
            lambda: connect(api_key),
            options=opts,
            say=say,
            confirm=confirm,
            show_plan=show,
            hosts=BadHosts.default(),
        ).run()
    from vastjob.cli.signals import terminate_as_interrupt
    from vastjob.emulator import Emulator
    from vastjob.vast.local import run_local
    from vastjob.vast.sandboxes import finish, new_sandbox

    # A folder the user named is theirs and always kept; one made here goes after a success.
    where = Path(sandbox).resolve() if sandbox else new_sandbox()
    with terminate_as_interrupt():  # a SIGTERM ends the job's processes here as Ctrl-C does
        result = run_local(
            spec,
            lambda path: Emulator(sandbox=path),
            where,
            options=opts,
            say=say,
            confirm=confirm,
            show_plan=show,
        )
    succeeded = result.local.outcome == "succeeded"
    result.local.sandbox_removed = finish(where, succeeded=succeeded, keep=keep or sandbox is not None)
    return result
