"""Exit codes a CI job can trust: a question not answered yes exits 1, Ctrl-C at a question exits 130.

Ctrl-C is a real SIGINT sent to a real `vastjob` process while it waits at the question.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support.jobs import rented_doc as job_doc
from vastjob.cli import cli
from vastjob.emulator import Emulator


@pytest.fixture
def emu(cli_emu: Emulator) -> Emulator:
    """The emulator every command of these tests talks to."""
    return cli_emu


pytestmark = pytest.mark.emulator(n_offers=400, auto_advance=False)


def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(job_doc(), sort_keys=False))
    return str(path)


def live(emu: Emulator) -> list[Any]:
    return [i for i in emu.instances.values() if not i.destroyed]


def interrupt_at_the_question(*args: str, question: str) -> subprocess.CompletedProcess[str]:
    """Run vastjob, wait until it asks `question`, press Ctrl-C (SIGINT); what it printed and its code."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from vastjob.cli import main; main()", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    assert proc.stderr is not None
    seen = b""
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    deadline = time.monotonic() + 60
    while question.encode() not in seen and proc.poll() is None and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.02)
    assert question.encode() in seen, seen
    proc.send_signal(signal.SIGINT)
    os.set_blocking(fd, True)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), (seen + err).decode())


def test_ctrl_c_at_apply_s_question_exits_130_and_rents_nothing(emu: Emulator, tmp_path: Path) -> None:
    done = interrupt_at_the_question("apply", spec_file(tmp_path), question="rent the offer marked *?")
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
    assert emu.instances == {}


def test_ctrl_c_at_destroy_s_question_exits_130_and_destroys_nothing(emu: Emulator, tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["apply", "--detach", spec_file(tmp_path), "--yes"]).exit_code == 0
    done = interrupt_at_the_question("destroy", "tiny", question="disk included?")
    assert done.returncode == 130 and "Traceback" not in done.stderr
    assert len(live(emu)) == 1


@pytest.mark.parametrize("answer", ["", "n\n", "maybe\n"])
def test_a_question_not_answered_yes_exits_1_saying_pass_yes(
    emu: Emulator, tmp_path: Path, answer: str
) -> None:
    spec = spec_file(tmp_path)
    applied = CliRunner().invoke(cli, ["apply", "--detach", spec], input=answer)
    assert applied.exit_code == 1 and "pass --yes" in applied.output
    assert applied.output.strip().endswith("nothing created") and emu.instances == {}
    assert CliRunner().invoke(cli, ["apply", "--detach", spec, "--yes"]).exit_code == 0
    destroyed = CliRunner().invoke(cli, ["destroy", "tiny"], input=answer)
    assert destroyed.exit_code == 1 and "pass --yes" in destroyed.output and len(live(emu)) == 1
    # up to date: nothing asked
    assert CliRunner().invoke(cli, ["apply", "--detach", spec], input="y\n").exit_code == 0


def test_stop_and_destroy_of_a_job_with_no_instance_are_alike(emu: Emulator) -> None:
    for args in (["stop", "ghost"], ["destroy", "ghost", "--yes"], ["destroy", "ghost"]):
        result = CliRunner().invoke(cli, args, input="y\n")
        assert result.exit_code == 1 and "job ghost has no instance" in result.stderr, args
