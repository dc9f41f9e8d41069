"""Arbitrary spec strings reach the instance byte for byte and never break or steer the script."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.jobs import job_of
from tests.support.script import Sandbox
from vastjob.compile import render_script

pytestmark = pytest.mark.slow

NASTY = [
    "$(touch pwned)",
    "`touch pwned`",
    "'",
    '"',
    "\\",
    "-rf",
    "--",
    "\n",
    "a b",
    "${HOME}",
    "*",
    "é中🙂",
    ";:",
]
CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(CHARS, min_size=1, max_size=20),
    st.lists(st.sampled_from(NASTY), min_size=2, max_size=4).map("".join),
)
SEGMENT = st.one_of(
    st.sampled_from([s for s in NASTY if "/" not in s]),
    st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00/"), min_size=1, max_size=12
    ),
).filter(lambda s: s not in (".", ".."))
PATH = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)
# A dataset dest: relative to the repo folder, or absolute (then under the script's root).
DEST = st.tuples(st.sampled_from(["", "/"]), PATH).map("".join)

RECORDERS = {
    # Keep each invocation's argv NUL-separated; do nothing else.
    "git": '[ "$1" = fetch ] && printf \'%s\\0\' "$@" >"$SANDBOX/fetch.args"\nexit 0\n',
    "rclone": (
        'printf \'%s\\0\' "$@" >"$SANDBOX/rclone.args"\nprintf %s "$VASTJOB_STEP" >"$SANDBOX/rclone.step"\n'
    ),
}


def _sandbox(folder: Path) -> Sandbox:
    return Sandbox.create(folder, None, RECORDERS)  # shutdown is keep: no API to call


@settings(max_examples=50, deadline=None)
@given(value=TEXT, ref=TEXT, name=TEXT, source=TEXT, dest=DEST, repo_dir=PATH)
def test_spec_strings_arrive_byte_for_byte(
    value: str, ref: str, name: str, source: str, dest: str, repo_dir: str
) -> None:
    job = job_of(
        repo={"url": "file:///nowhere/repo.git", "ref": ref, "dir": "/" + repo_dir},
        remotes={"store": {"type": "local"}},
        datasets={name: {"source": "store:" + source, "dest": dest}},
        env={"VALUE": value},
        run={"command": 'printf %s "$VALUE" >"$SANDBOX/env.out"; printf %s "$PWD" >"$SANDBOX/pwd.out"'},
        shutdown={"on_success": "keep", "on_failure": "keep"},
    )
    script = render_script(job)
    with tempfile.TemporaryDirectory() as folder:
        box = _sandbox(Path(folder))
        target = box.dir / "job.sh"
        target.write_text(script)
        assert subprocess.run(["bash", "-n", str(target)], capture_output=True, check=False).returncode == 0
        result = box.run(script, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (box.dir / "env.out").read_bytes() == value.encode()
        assert (box.dir / "fetch.args").read_bytes().split(b"\0")[:-1] == [
            b"fetch",
            b"origin",
            b"--",
            ref.encode(),
        ]
        rclone = (box.dir / "rclone.args").read_bytes().split(b"\0")[:-1]
        base = box.root / repo_dir
        assert rclone[:3] == [
            b"copy" if dest.endswith("/") else b"copyto",
            b"--",
            ("store:" + source).encode(),
        ]
        assert rclone[3] == (str(box.root) + dest if dest.startswith("/") else dest).encode()
        assert (box.dir / "rclone.step").read_bytes() == ("data:" + name).encode()
        assert os.path.samefile((box.dir / "pwd.out").read_bytes(), base)
        assert not any(p.name == "pwned" for p in Path(folder).rglob("pwned"))
