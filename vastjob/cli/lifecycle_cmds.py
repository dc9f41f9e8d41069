"""The commands that look after a job's instances, found by label: status, logs, stop, destroy."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from vastjob.cli._common import OutputFormat, output_option, run, set_option
from vastjob.cli._vast import api_key_option, ask, connect, job_options, job_ref
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli._common import Result


@click.command(
    epilog=footer(
        [
            "vastjob status                    # every vastjob instance",
            "vastjob status burgers512",
            "vastjob status jobs/burgers512.yaml -o json   # rows marked current or old",
        ],
        {0: "listed (also when there is none)", 1: "a spec problem or a bad job name", 3: None},
    )
)
@click.argument("job", metavar="[JOB]", required=False, shell_complete=complete_files)
@set_option
@click.option("--all", "all_jobs", is_flag=True, help="Every vastjob instance (the same as no JOB).")
@api_key_option
@output_option
def status(
    job: str | None, overrides: tuple[str, ...], all_jobs: bool, api_key: str | None, output: OutputFormat
) -> None:
    """Show JOB's instances (with no JOB, every vastjob instance): state, $/h, uptime, cost so far."""

    def go() -> Result:
        from vastjob.cli.history_cmds import client_or_none, history
        from vastjob.cli.results import StatusRows
        from vastjob.cli.sweep_cmds import status_sweep, sweep_at
        from vastjob.vast.jobrecord import load_all
        from vastjob.vast.lifecycle import find, status_row

        sweep = sweep_at(job, overrides) if job else None
        if sweep is not None:
            return status_sweep(sweep, api_key)
        name, spec_hash = job_ref(job, overrides) if job else (None, None)
        # Jobs applied from here are listed after their instances, also once those are gone.
        client = client_or_none(api_key, bool(load_all(name)))
        if client is None:
            return StatusRows([], history(name, None), listed=False)
        with client:
            rows = [status_row(i, time.time(), spec_hash) for i in find(client, name)]
            return StatusRows(rows, history(name, client))

    run(go, output)


@click.command(
    epilog=footer(
        ["vastjob logs burgers512 --tail 200", "vastjob logs jobs/burgers512.yaml --follow"],
        {0: "printed", 1: "the job has no instance, or a spec problem", 3: None},
    )
)
@job_options
@click.option(
    "--tail",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many of the last lines to print (0: none; with --follow, only new lines).",
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the instance stops.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls with --follow.")
def logs(
    job: str,
    overrides: tuple[str, ...],
    tail: int,
    follow: bool,
    interval: float,
    api_key: str | None,
    output: OutputFormat,
) -> None:
    """Print the log of JOB's newest instance (--follow: as it grows, text only)."""

    def go() -> Result | None:
        from vastjob.cli.history_cmds import client_or_none, newest_record, uploaded_rest, uploaded_tail
        from vastjob.cli.results import Logs
        from vastjob.errors import UserError
        from vastjob.vast.lifecycle import follow_logs, newest

        name, spec_hash = job_ref(job, overrides)
        record = newest_record(name)
        client = client_or_none(api_key, record is not None)
        if client is None:  # no account: what the job uploaded is all there is
            return uploaded_tail(record, tail)
        with client:
            try:
                inst = newest(client, name, spec_hash)
            except UserError:
                if record is None:
                    raise
                # The instance is gone: the log it uploaded to `logs:` answers.
                return uploaded_tail(record, tail)
            if follow and output == "text":
                # Lines print as they come: the result is the stream itself.
                seen: list[str] = []
                for line in follow_logs(client, inst.id, poll_s=interval, skip_first=tail == 0):
                    seen.append(line)
                    click.echo(line)
                # A job that destroyed itself took its last lines along; its uploaded log has them.
                if record is not None and record.instance_id == inst.id:
                    for line in uploaded_rest(record, seen):
                        click.echo(line)
                return None
            # Zero lines is nothing to fetch (and the API's tail of 0 is not "none").
            return Logs(inst.id, inst.label, client.instance_logs(inst.id, tail=tail) if tail else "")

    run(go, output)


@click.command(
    epilog=footer(
        ["vastjob stop burgers512", "vastjob stop jobs/burgers512.yaml -o json"],
        {
            0: "stopped (or nothing left to stop)",
            1: "the job has no instance (as with destroy)",
            3: "the API failed for one of them (the others were still tried)",
        },
    )
)
@job_options
def stop(job: str, overrides: tuple[str, ...], api_key: str | None, output: OutputFormat) -> None:
    """Stop JOB's instances: GPU billing ends, the disk is kept (and still billed) until destroy."""

    def go() -> Result:
        from vastjob.cli.results import Acted
        from vastjob.vast.lifecycle import stop as stop_job

        name, _ = job_ref(job, overrides)
        with connect(api_key) as client:
            return Acted("stopped", stop_job(client, name), f"job {name}: nothing left to stop")

    run(go, output)


@click.command(
    epilog=footer(
        [
            "vastjob destroy burgers512          # asks first",
            "vastjob destroy burgers512 --yes    # in scripts",
        ],
        {
            0: "destroyed",
            1: "the job has no instance (as with stop), or the question not answered yes",
            3: "the API failed for one of them (the others were still tried)",
        },
    )
)
@job_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
def destroy(
    job: str, overrides: tuple[str, ...], yes: bool, api_key: str | None, output: OutputFormat
) -> None:
    """Destroy JOB's instances and their disks, ending all charges."""

    def go() -> Result:
        from vastjob.cli.results import Acted
        from vastjob.cli.sweep_cmds import destroy_sweep, sweep_at
        from vastjob.vast.lifecycle import destroy as destroy_job
        from vastjob.vast.lifecycle import require

        sweep = sweep_at(job, overrides)
        if sweep is not None:
            return destroy_sweep(sweep, api_key, yes)
        name, _ = job_ref(job, overrides)
        with connect(api_key) as client:
            ids = [i.id for i in require(client, name)]
            listed = ", ".join(map(str, ids))
            if not yes and not ask(f"destroy instance {listed} of job {name}, disk included?"):
                return Acted(
                    "destroyed",
                    [],
                    "not confirmed (pass --yes to destroy without the question): nothing destroyed",
                    declined=True,
                )
            # Only what the user was shown: an instance created since is not theirs to lose unasked.
            return Acted("destroyed", destroy_job(client, name, ids), "nothing destroyed")

    run(go, output)
