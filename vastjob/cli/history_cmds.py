"""The local job history in the commands: `cost`, and what `status` and `logs` add from it.

A job applied from this machine stays known after its instance is gone: `status` lists it with its
outcome, duration and cost, `logs` prints the log it uploaded to `logs:`, `cost` sums what it cost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from vastjob.cli._common import OutputFormat, output_option, run
from vastjob.cli._vast import api_key_option, connect, job_ref
from vastjob.cli.completion import complete_files
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli._common import Result
    from vastjob.vast.client import VastClient
    from vastjob.vast.jobrecord import JobRecord


def client_or_none(api_key: str | None, have_history: bool) -> VastClient | None:
    """A client for the account; None only when there is no key and the history alone can answer (a
    job run with `apply --local` needs no account)."""
    from vastjob.errors import UserError

    try:
        return connect(api_key)
    except UserError:
        if api_key is None and have_history:
            return None
        raise


def history(name: str | None, client: VastClient | None) -> list[dict[str, Any]]:
    """The history rows of job `name` (every job when None), completed from the API and `logs:`."""
    from vastjob.vast.jobrecord import load_all
    from vastjob.vast.jobstatus import complete, history_row

    now = time.time()
    return [history_row(r, now) for r in complete(load_all(name), client)]


def newest_record(name: str) -> JobRecord | None:
    """The job's most recent record in the local history, if any."""
    from vastjob.vast.jobrecord import load_all

    found = load_all(name)
    return found[-1] if found else None


@dataclass(frozen=True)
class CostRows:
    """`cost`: each applied instance's estimated cost, GPU and storage apart."""

    rows: Sequence[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The rows and their total, marked as an estimate."""
        total = sum((r["cost_estimate"]["total"] or 0.0) for r in self.rows)
        return {"estimate": True, "total": round(total, 4), "jobs": list(self.rows)}

    def render(self) -> str:
        """The cost table."""
        from vastjob.vast.jobstatus import cost_table

        return cost_table(self.rows)


@click.command(
    epilog=footer(
        ["vastjob cost                 # every job applied from this machine", "vastjob cost demo -o json"],
        {0: "listed (also when there is none)", 1: "a bad job name, or a spec problem", 3: None},
    )
)
@click.argument("job", metavar="[JOB]", required=False, shell_complete=complete_files)
@api_key_option
@output_option
def cost(job: str | None, api_key: str | None, output: OutputFormat) -> None:
    """What each of JOB's instances cost while it existed (every job's, with no JOB): GPU and storage
    apart, estimated from the API's $/h and the times this machine saw."""

    def go() -> Result:
        from vastjob.vast.jobrecord import load_all

        name = job_ref(job)[0] if job else None
        client = client_or_none(api_key, bool(load_all(name)))
        if client is None:
            return CostRows(history(name, None))
        with client:
            return CostRows(history(name, client))

    run(go, output)


def uploaded_tail(record: JobRecord | None, tail: int) -> Result:
    """The last `tail` lines of the log a job uploaded; a user error saying why when it cannot be read."""
    from vastjob.cli.results import Logs
    from vastjob.errors import UserError
    from vastjob.vast.jobstatus import uploaded_log

    if record is None:
        raise UserError("no such job in this machine's history, and no Vast API key to look further")
    text, why = uploaded_log(record)
    if text is None:
        raise UserError(f"job {record.job}: instance {record.instance_id} is gone and {why}")
    lines = text.splitlines()[-tail:] if tail else []
    return Logs(record.instance_id, f"{record.job} (uploaded log)", "".join(f"{x}\n" for x in lines))


def uploaded_rest(record: JobRecord, seen: Sequence[str]) -> Sequence[str]:
    """The lines of the uploaded log after those already printed (none when it cannot be read)."""
    from vastjob.vast.jobstatus import uploaded_log

    text, _why = uploaded_log(record)
    if text is None or not seen:
        return []
    lines = text.splitlines()
    # After the last printed line that the uploaded log has; nothing when they share none (no repeats).
    for line in reversed(seen):
        if line in lines:
            return lines[len(lines) - lines[::-1].index(line) :]
    return []
