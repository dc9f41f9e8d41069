"""The package imports, the CLI answers, and the network guard holds."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from vastjob.cli import COMMANDS, cli


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_non_loopback_connections_are_refused() -> None:
    with socket.socket() as sock, pytest.raises(OSError, match="only loopback"):
        sock.connect(("192.0.2.1", 80))
