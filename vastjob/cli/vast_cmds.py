"""The commands that plan and rent: offers, plan and apply (also `--local`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from vastjob.cli._apply import apply_job, plan_of
from vastjob.cli._common import OutputFormat, run
from vastjob.cli._vast import job_options
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli._common import Result


@click.command(
    epilog=footer(
        [
            "vastjob offers jobs/burgers512.yaml --limit 10",
            "vastjob offers jobs/burgers512.yaml --set offer.max_price_per_hour=3 -o json",
        ],
        {
            0: "offers listed",
            1: "a spec problem, or no offer matches (it says which filter left none)",
            3: None,
        },
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

        plan = plan_of(job, overrides, api_key, secrets=False)
        return Offers(plan.candidates[:limit], plan.job.run.max_runtime_s)

    run(go, output)


@click.command(
    epilog=footer(
        [
            "vastjob plan jobs/burgers512.yaml",
            "vastjob plan jobs/burgers512.yaml --set env.RESET_CACHE=0 -o yaml",
        ],
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
        return plan_of(job, overrides, api_key, secrets=True, action=True)

    run(go, output)


@click.command(
    epilog=footer(
        [
            "vastjob apply jobs/demo.yaml --local --yes      # no account: the whole cycle on this machine",
            "vastjob apply jobs/burgers512.yaml              # asks, then streams the job to its end",
            "vastjob apply jobs/burgers512.yaml --yes --detach   # return once the instance runs",
            "vastjob apply jobs/burgers512.yaml --replace --yes",
        ],
        {
            0: "the job succeeded; with --detach or --dry-run: rented (or up to date), or planned",
            1: "a spec problem, --replace needed, no offer, the question not answered yes",
            3: "the Vast API failed, or an instance came back over the price cap (destroyed)",
            4: "the job failed, or its outcome could not be read (not with --detach)",
            130: "interrupted; while following, the job goes on (vastjob logs -f JOB follows it again)",
        },
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
@click.option(
    "--follow", is_flag=True, help="Stream the job's log to its end and exit with its outcome (the default)."
)
@click.option(
    "--detach",
    is_flag=True,
    help="Return once the instance is created (with --wait: once it runs) instead of following.",
)
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
    follow: bool,
    detach: bool,
    api_key: str | None,
    output: OutputFormat,
) -> None:
    """Rent an instance for JOB and start it; re-applying the same spec creates nothing. Then it streams the
    job's log to its end (progress between lines) and exits with the job's outcome; with -o json/yaml the log
    goes to stderr and the result, outcome included, to stdout. Ctrl-C or --detach leaves the job running.

    For a sweep: launch its runs, max_parallel at a time within its budget, follow them to their end and
    sum them up; Ctrl-C detaches, and applying it again resumes."""
    from vastjob.vast.apply import ApplyOptions

    if follow and detach:
        raise click.UsageError("--follow and --detach contradict each other")
    if local and detach:
        raise click.UsageError("--local runs the emulator inside this command: it cannot --detach")
    # Followed by default, terminal or not: a CI run exits with the job as a terminal user sees it end.
    follow = not detach and not local
    wait = wait or follow

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
        return apply_job(
            job, overrides, opts, api_key, output, local=local, sandbox=sandbox, keep=keep, follow=follow
        )

    run(go, output)
