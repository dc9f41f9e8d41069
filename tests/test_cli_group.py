"""The command group: suggestions for a mistyped command, and shell completion through the console script."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from vastjob.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
VASTJOB = shutil.which("vastjob")  # the console script `make install` puts beside the interpreter
needs_script = pytest.mark.skipif(VASTJOB is None, reason="the vastjob console script is not installed")


@pytest.mark.parametrize(
    ("typed", "hint"),
    [("valdate", "Did you mean 'validate'?"), ("aply", "Did you mean 'apply'?"), ("val", "'validate'")],
)
def test_a_mistyped_command_gets_a_suggestion_and_exit_2(typed: str, hint: str) -> None:
    result = CliRunner().invoke(cli, [typed, "jobs/demo.yaml"])
    assert result.exit_code == 2
    assert f"No such command {typed!r}." in result.stderr and hint in result.stderr


def test_a_command_far_from_every_name_gets_no_guess() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "Did you mean" not in result.stderr


def _complete(words: str, cword: int, shell: str = "bash") -> list[str]:
    assert VASTJOB is not None
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    env["_VASTJOB_COMPLETE"] = f"{shell}_complete"
    proc = subprocess.run([VASTJOB], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


@needs_script
def test_completion_lists_commands_and_leaves_job_arguments_to_file_names() -> None:
    assert _complete("vastjob va", 1) == ["plain,validate"]
    assert _complete("vastjob render jobs/de", 2) == ["file,jobs/de"]
    assert _complete("vastjob validate jobs/demo.yaml jo", 3) == ["file,jo"]
    for command in ("offers", "plan", "apply", "status", "logs", "stop", "destroy"):
        assert _complete(f"vastjob {command} jobs/de", 2) == ["file,jobs/de"], command


@needs_script
def test_bash_completion_script_completes_a_command_in_real_bash() -> None:
    assert VASTJOB is not None
    source = subprocess.run(
        [VASTJOB], env={**os.environ, "_VASTJOB_COMPLETE": "bash_source"}, capture_output=True, text=True
    ).stdout
    probe = source + "\nCOMP_WORDS=(vastjob dest); COMP_CWORD=1; _vastjob_completion vastjob\n"
    probe += 'echo "${COMPREPLY[@]}"\n'
    proc = subprocess.run(["bash", "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["destroy"]


@needs_script
@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef vastjob"), ("fish", "complete --no-files")])
def test_zsh_and_fish_completion_scripts_are_printed(shell: str, marker: str) -> None:
    assert VASTJOB is not None
    proc = subprocess.run(
        [VASTJOB], env={**os.environ, "_VASTJOB_COMPLETE": f"{shell}_source"}, capture_output=True, text=True
    )
    assert proc.returncode == 0 and marker in proc.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_ends_with_examples_and_exit_codes(name: str) -> None:
    text = CliRunner().invoke(cli, [name, "--help"]).output
    examples = text.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(line.strip().startswith(f"vastjob {name}") for line in examples)
    codes = [line.split()[0] for line in text.split("Exit codes:\n", 1)[1].splitlines() if line.strip()]
    assert codes[:3] == ["0", "1", "2"]
