"""`vastjob reap`: end every vastjob instance past its deadline, never started, or stopped too long."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from vastjob.cli._common import OutputFormat, output_option, run
from vastjob.cli._vast import api_key_option, connect
from vastjob.cli.helptext import footer

if TYPE_CHECKING:
    from vastjob.cli._common import Result


@click.command(
    epilog=footer(
        [
            "vastjob reap --dry-run            # what a pass would destroy, changing nothing",
            "vastjob reap -o json              # from cron or CI, every few minutes",
        ],
        {
            0: "every instance it should end is gone (or a dry run)",
            1: "bad input (a key that is no key)",
            3: "an instance it should end is still there (named), or the API failed",
        },
    )
)
@click.option("--dry-run", is_flag=True, help="Say what would be destroyed; change nothing.")
@api_key_option
@output_option
def reap(dry_run: bool, api_key: str | None, output: OutputFormat) -> None:
    """Destroy the account's vastjob instances that are past their deadline, never started, or stopped
    for longer than their spec keeps them; exit 3 while one of them is still there. Safe to run from cron."""

    def go() -> Result:
        from vastjob.vast.hosts import BadHosts
        from vastjob.vast.reap import reap as reap_once

        hosts = BadHosts.default()
        with connect(api_key) as client:
            return reap_once(client, dry_run=dry_run, hosts=hosts)

    run(go, output)
