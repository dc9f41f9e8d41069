"""The `vastjob` command line: a lazy click group, so each command imports only what it needs."""

from __future__ import annotations

import difflib
import importlib
import sys

import click

# command name -> "module:attribute" of its click command; modules load only when their command runs.
COMMANDS: dict[str, str] = {
    "init": "vastjob.cli.init_cmd:init",
    "validate": "vastjob.cli.spec_cmds:validate",
    "schema": "vastjob.cli.spec_cmds:schema",
    "render": "vastjob.cli.render_cmd:render",
    "offers": "vastjob.cli.vast_cmds:offers",
    "plan": "vastjob.cli.vast_cmds:plan",
    "apply": "vastjob.cli.vast_cmds:apply",
    "status": "vastjob.cli.lifecycle_cmds:status",
    "logs": "vastjob.cli.lifecycle_cmds:logs",
    "stop": "vastjob.cli.lifecycle_cmds:stop",
    "destroy": "vastjob.cli.lifecycle_cmds:destroy",
    "cost": "vastjob.cli.history_cmds:cost",
    "reap": "vastjob.cli.reap_cmd:reap",
    "emulator": "vastjob.cli.emulator_cmd:emulator",
}

HELP: dict[str, str] = {
    "init": "Start vastjob in a repo: a starter spec, its schema and a .env.example.",
    "validate": "Check job specs and report every problem with its file and line.",
    "schema": "Print the job spec's JSON Schema (or write it into your repo).",
    "render": "Print the onstart script (or its bootstrap, or the step graph) for a job.",
    "offers": "List the Vast offers that match a job.",
    "plan": "Show the resolved job, its step graph, the chosen offer and the runners-up.",
    "apply": "Rent an instance for a job and start it (idempotent by label).",
    "status": "Show a job's instances: state, $/h, uptime, cost so far.",
    "logs": "Print a job's instance logs.",
    "stop": "Stop a job's instance (its disk is kept and still billed).",
    "destroy": "Destroy a job's instances, ending all charges.",
    "cost": "Estimate what each job's instances cost, GPU and storage apart.",
    "reap": "Destroy every vastjob instance past its deadline, never started, or stopped too long.",
    "emulator": "Run a local Vast.ai emulator on 127.0.0.1.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # click suggests close names only among the commands it holds, and this group holds none until
        # they are used: suggest among the lazy ones.
        name = args[0] if args else ""
        if name in COMMANDS or name.startswith("-") or ctx.resilient_parsing:
            return super().resolve_command(ctx, args)
        starts = [c for c in COMMANDS if name and c.startswith(name)]
        close = list(dict.fromkeys(starts + difflib.get_close_matches(name, list(COMMANDS), n=3, cutoff=0.6)))
        hint = f" Did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else ""
        ctx.fail(f"No such command {name!r}.{hint}")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists the commands without importing them, so `vastjob --help` stays fast.
        with formatter.section("Commands"):
            formatter.write_dl([(name, HELP.get(name, "")) for name in COMMANDS])


def _version() -> str:
    from vastjob import __version__

    return __version__


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="vastjob")
def cli() -> None:
    """vastjob: declarative GPU jobs on Vast.ai that set themselves up, train, and shut down."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    # httpx imports its own command line at import time, and with it rich and pygments when they are
    # installed: about 80 ms of every network command's start. vastjob never runs httpx's CLI.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        cli.main(args=argv, prog_name="vastjob")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
