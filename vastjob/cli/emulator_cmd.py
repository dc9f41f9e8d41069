"""`vastjob emulator`: run a local Vast.ai on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from vastjob.cli._common import OutputFormat, emit, output_option, run
from vastjob.cli.helptext import footer
from vastjob.cli.results import Text
from vastjob.cli.signals import terminate_as_interrupt


def serve_emulator(
    *,
    port: int,
    offers: Path | None,
    sandbox: Path | None,
    faults: str,
    seed: int,
    n_offers: int,
    api_key: str,
    step_seconds: float,
    verbose: bool,
    output: OutputFormat,
    stop: threading.Event | None = None,
) -> int:
    """Start the emulator, print where it is, and serve until interrupted (or until `stop` is set)."""
    from vastjob.emulator import Emulator, Faults
    from vastjob.emulator.faults import parse_faults
    from vastjob.emulator.market import load_offers
    from vastjob.errors import UserError

    try:
        knobs = Faults()
        knobs.update(parse_faults(faults))
    except ValueError as err:
        raise UserError(f"--faults: {err}") from None
    try:
        market = load_offers(offers) if offers is not None else None
    except (OSError, ValueError) as err:
        raise UserError(f"--offers: {err}") from None
    emulator = Emulator(
        port=port,
        offers=market,
        seed=seed,
        n_offers=n_offers,
        sandbox=sandbox,
        faults=knobs,
        api_key=api_key,
        step_seconds=step_seconds,
        log_requests=verbose,
    )
    try:
        emulator.start()
    except OSError as err:
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from None
    info = {
        "url": emulator.url,
        "api_key": emulator.api_key,
        "sandbox": str(emulator.sandbox),
        "offers": len(emulator.market),
        "faults": knobs.as_dict(),
    }
    text = (
        f"Vast.ai emulator on {emulator.url} ({info['offers']} offers)\nAPI key: {emulator.api_key}\n"
        f"Sandbox: {emulator.sandbox}\n"
        f"Use it:  VAST_URL={emulator.url} VAST_API_KEY={emulator.api_key} ...\nPress Ctrl-C to stop."
    )
    emit(Text(text, key="", extra=info), output)  # printed before serving: the result is the server
    try:
        with terminate_as_interrupt():  # a SIGTERM stops it as Ctrl-C does, instances' processes too
            (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        emulator.stop()
    return 0


@click.command(
    name="emulator",
    epilog=footer(
        ["vastjob emulator --port 8765", "vastjob emulator --faults rate_limit=3,route=search+create -v"],
        {0: "stopped with Ctrl-C", 1: "a bad --faults or --offers, or the port is taken"},
        interruptible=False,
    ),
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option(
    "--offers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON file of offers (a list, or {"offers": [...]}) instead of the generated market.',
)
@click.option(
    "--sandbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding one sub-folder per instance (default: a new temporary folder).",
)
@click.option(
    "--faults",
    default="",
    metavar="NAME=VALUE,...",
    help="Fault knobs, e.g. rate_limit=3,route=search+create (see docs/emulator.md).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated market.")
@click.option(
    "--n-offers",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="Size of the generated market.",
)
@click.option("--api-key", default="emulator-key", show_default=True, help="The user API key it accepts.")
@click.option(
    "--step-seconds",
    type=click.FloatRange(0.01, 3600),
    default=2.0,
    show_default=True,
    help="How long each provisioning step (created, loading) lasts.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print one line per request on stderr.")
@output_option
def emulator(
    port: int,
    offers: Path | None,
    sandbox: Path | None,
    faults: str,
    seed: int,
    n_offers: int,
    api_key: str,
    step_seconds: float,
    verbose: bool,
    output: OutputFormat,
) -> None:
    """Run a local Vast.ai emulator on 127.0.0.1: offers, instances that run their onstart here, faults."""
    run(
        lambda: serve_emulator(
            port=port,
            offers=offers,
            sandbox=sandbox,
            faults=faults,
            seed=seed,
            n_offers=n_offers,
            api_key=api_key,
            step_seconds=step_seconds,
            verbose=verbose,
            output=output,
        ),
        output,
    )
