"""The commands that talk to Vast: offers, plan, apply (also `--local`), status, logs, stop, destroy."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vastjob.cli._common import echo_json, output_option, run, set_option
from vastjob.spec.model import JobSpec
from vastjob.vast.client import VastClient, resolve_api_key, resolve_base_url

if TYPE_CHECKING:
    from vastjob.vast.apply import ApplyOptions
    from vastjob.vast.plan import Plan

api_key_option = click.option(
    "--api-key",
    envvar=None,
    default=None,
    metavar="KEY",
    help="Vast API key (default: $VAST_API_KEY, then ~/.config/vastai/vast_api_key).",
)
job_argument = click.argument("job", metavar="JOB")


def _load(path: str, overrides: Sequence[str] = ()) -> JobSpec:
    from vastjob.spec.load import load_job

    return load_job(path, overrides)


def _job_name(ref: str) -> tuple[str, str | None]:
    """A job name (and its current spec hash when known) from a spec path or a bare name."""
    from vastjob.vast.labels import check_name

    if ref.endswith((".yaml", ".yml")) or os.sep in ref or Path(ref).is_file():
        job = _load(ref)
        return job.name, job.spec_hash
    return check_name(ref), None


def _connect(api_key: str | None) -> VastClient:
    return VastClient(resolve_api_key(api_key), resolve_base_url())


def _say(message: str) -> None:
    click.echo(message, err=True)


def _ask(question: str) -> bool:
    """A yes/no question on stderr; no answer (end of input, Ctrl-C) is a no, so -o json stays JSON."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        return False


@click.command()
@job_argument
@set_option
@click.option("--limit", default=20, show_default=True, help="How many offers to list.")
@api_key_option
@output_option
def offers(job: str, overrides: tuple[str, ...], limit: int, api_key: str | None, output: str) -> None:
    """List the offers that match JOB, best first, with the total $/h and the cost for its max_runtime."""

    def go() -> int:
        from vastjob.vast.plan import offers_table
        from vastjob.vast.query import build_query, select

        spec = _load(job, overrides)
        with _connect(api_key) as client:
            found = client.search_offers(build_query(spec.offer, spec.instance.disk_gb))
        cands = select(found, spec.offer, spec.instance.disk_gb)[:limit]
        if output == "json":
            echo_json([c.to_json(spec.run.max_runtime_s) for c in cands])
        else:
            click.echo(offers_table(cands, spec.run.max_runtime_s))
        return 0

    run(go, output)


@click.command()
@job_argument
@set_option
@api_key_option
@output_option
def plan(job: str, overrides: tuple[str, ...], api_key: str | None, output: str) -> None:
    """Show the resolved JOB, its step graph, the offer apply would rent and the runners-up."""

    def go() -> int:
        from vastjob.compile.transport import render_payload
        from vastjob.vast.plan import Plan
        from vastjob.vast.query import build_query, select
        from vastjob.vast.secrets import find_secrets

        spec = _load(job, overrides)
        secrets, _missing = find_secrets(spec)
        sent = render_payload(spec, secrets=secrets.values, api_url=resolve_base_url())  # before the network
        with _connect(api_key) as client:
            found = client.search_offers(build_query(spec.offer, spec.instance.disk_gb))
        cands = select(found, spec.offer, spec.instance.disk_gb)
        the_plan = Plan(spec, cands, len(found), secrets=secrets, budget=sent.budget)
        if output == "json":
            echo_json(the_plan.to_json())
        else:
            click.echo(the_plan.render())
        return 0

    run(go, output)


@click.command()
@job_argument
@set_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask before renting.")
@click.option("--dry-run", is_flag=True, help="Stop after showing the plan: nothing is created.")
@click.option("--replace", is_flag=True, help="Replace the job's instance from a different spec (new first).")
@click.option(
    "--wait", is_flag=True, help="Follow the instance to running, replacing one that never gets there."
)
@click.option("--no-pin", is_flag=True, help="Do not pin repo.ref to its current commit.")
@click.option("--wait-timeout", default=1800, show_default=True, help="Seconds --wait waits for running.")
@click.option("--local", is_flag=True, help="Run the job on this machine against a local emulator.")
@click.option("--sandbox", type=click.Path(file_okay=False), help="With --local: where instances run.")
@api_key_option
@output_option
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
    api_key: str | None,
    output: str,
) -> None:
    """Rent an instance for JOB and start it; re-applying the same spec creates nothing."""
    from vastjob.vast.apply import ApplyOptions

    opts = ApplyOptions(
        yes=yes,
        dry_run=dry_run,
        replace=replace,
        wait=wait,
        pin=not no_pin,
        wait_timeout_s=float(wait_timeout),
    )

    def show(the_plan: Plan) -> None:
        if output == "text":
            click.echo(the_plan.render())

    def confirm(the_plan: Plan) -> bool:
        return _ask("rent the offer marked *?")

    def go() -> int:
        from vastjob.vast.apply import Applier

        spec = _load(job, overrides)
        if local:
            return _apply_local(spec, opts, sandbox, output, show, confirm)

        def connect() -> VastClient:
            return _connect(api_key)

        result = Applier(spec, connect, options=opts, say=_say, confirm=confirm, show_plan=show).run()
        if output == "json":
            echo_json(result.to_json())
        elif result.action == "up_to_date":
            click.echo(
                f"up to date: instance {result.instance_id} ({result.state or 'provisioning'}) "
                f"already runs {result.label}"
            )
        elif result.action == "dry_run":
            click.echo("dry run: nothing created")
        elif result.action == "declined":
            click.echo("nothing created")
        else:
            click.echo(f"instance {result.instance_id} ({result.state}) runs {result.label}")
        return 0

    run(go, output)


def _apply_local(
    spec: JobSpec,
    opts: ApplyOptions,
    sandbox: str | None,
    output: str,
    show: Callable[[Plan], None],
    confirm: Callable[[Plan], bool],
) -> int:
    from vastjob.emulator import Emulator
    from vastjob.vast.local import run_local

    where = Path(sandbox) if sandbox else Path(tempfile.mkdtemp(prefix="vastjob-local-"))
    result, outcome = run_local(
        spec,
        lambda path: Emulator(sandbox=path),
        where.resolve(),
        options=opts,
        say=_say,
        confirm=confirm,
        show_plan=show,
    )
    if output == "json":
        echo_json({**result.to_json(), "local": outcome.to_json()})
    else:
        if outcome.log_tail:
            click.echo(f"--- last lines of {outcome.log_path}")
            click.echo("\n".join(outcome.log_tail))
        click.echo(
            f"job {spec.name} {outcome.outcome} (instance {outcome.instance_id} ended "
            f"{outcome.final_state}); sandbox kept at {outcome.sandbox}"
        )
    return 0 if outcome.outcome in ("succeeded", "ended", "not_started") else 1


@click.command()
@click.argument("job", metavar="[JOB]", required=False)
@click.option("--all", "all_jobs", is_flag=True, help="Every vastjob instance of the account.")
@api_key_option
@output_option
def status(job: str | None, all_jobs: bool, api_key: str | None, output: str) -> None:
    """Show JOB's instances (or every job's with --all): state, $/h, uptime, cost so far."""

    def go() -> int:
        from vastjob.errors import UserError
        from vastjob.vast.lifecycle import find, status_row, status_table

        if not job and not all_jobs:
            raise UserError("name a JOB (spec path or job name), or pass --all")
        name, spec_hash = _job_name(job) if job else (None, None)
        with _connect(api_key) as client:
            rows = [status_row(i, time.time(), spec_hash) for i in find(client, name)]
        if output == "json":
            echo_json(rows)
        else:
            click.echo(status_table(rows))
        return 0

    run(go, output)


@click.command()
@job_argument
@click.option("--tail", default=100, show_default=True, help="How many of the last lines to print.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the instance stops.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls with --follow.")
@api_key_option
@output_option
def logs(job: str, tail: int, follow: bool, interval: float, api_key: str | None, output: str) -> None:
    """Print the log of JOB's newest instance."""

    def go() -> int:
        from vastjob.vast.lifecycle import follow_logs, newest

        name, _ = _job_name(job)
        with _connect(api_key) as client:
            inst = newest(client, name)
            if follow and output == "text":
                for line in follow_logs(client, int(inst["id"]), poll_s=interval):
                    click.echo(line)
                return 0
            text = client.instance_logs(int(inst["id"]), tail=tail)
        if output == "json":
            echo_json({"id": inst["id"], "label": inst.get("label"), "lines": text.splitlines()})
        else:
            click.echo(text, nl=not text.endswith("\n"))
        return 0

    run(go, output)


@click.command()
@job_argument
@api_key_option
@output_option
def stop(job: str, api_key: str | None, output: str) -> None:
    """Stop JOB's instances: GPU billing ends, the disk is kept (and still billed) until destroy."""

    def go() -> int:
        from vastjob.vast.lifecycle import stop as stop_job

        name, _ = _job_name(job)
        with _connect(api_key) as client:
            ids = stop_job(client, name)
        if output == "json":
            echo_json({"stopped": ids})
        else:
            click.echo(f"stopped {', '.join(map(str, ids))}" if ids else f"job {name}: nothing left to stop")
        return 0

    run(go, output)


@click.command()
@job_argument
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@api_key_option
@output_option
def destroy(job: str, yes: bool, api_key: str | None, output: str) -> None:
    """Destroy JOB's instances and their disks, ending all charges."""

    def go() -> int:
        from vastjob.vast.lifecycle import destroy as destroy_job
        from vastjob.vast.lifecycle import require

        name, _ = _job_name(job)
        with _connect(api_key) as client:
            ids = [int(i["id"]) for i in require(client, name)]
            listed = ", ".join(map(str, ids))
            if not yes and not _ask(f"destroy instance {listed} of job {name}, disk included?"):
                destroyed: list[int] = []
            else:
                # Only what the user was shown: an instance created since is not theirs to lose unasked.
                destroyed = destroy_job(client, name, ids)
        if output == "json":
            echo_json({"destroyed": destroyed})
        else:
            click.echo(f"destroyed {', '.join(map(str, destroyed))}" if destroyed else "nothing destroyed")
        return 0

    run(go, output)
