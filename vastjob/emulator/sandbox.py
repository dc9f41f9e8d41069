"""An emulated container: a sandbox folder standing in for `/`, with shims on PATH and the onstart process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

SHIMS = ("nvidia-smi", "apt-get", "dpkg-query")
STATE_DIR = ".emulator"  # emulator bookkeeping inside the sandbox (shim records, GPU list, container log)


class Container:
    """The sandbox folder of one instance and the onstart process group running in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log_path = root / STATE_DIR / "container.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: list[tuple[threading.Timer, subprocess.Popen[bytes]]] = []  # delayed kills
        self._lock = threading.Lock()

    def prepare(self, gpus: Sequence[tuple[str, int]], driver: str) -> None:
        """Create the folder, install the shims and describe the GPUs the shims report."""
        (self.root / "root").mkdir(parents=True, exist_ok=True)
        install_shims(self.root / "bin")
        state = self.root / STATE_DIR
        lines = "".join(f"NVIDIA {name}, {mib}\n" for name, mib in gpus)
        (state / "gpus.csv").write_text(lines, encoding="utf-8")
        (state / "driver").write_text(driver + "\n", encoding="utf-8")

    def start(self, onstart: str, env: Mapping[str, str]) -> None:
        """Run onstart with bash as a new process group, as the container's start does each time."""
        script = self.root / "root" / "onstart.sh"
        script.write_text(onstart, encoding="utf-8")
        with self._lock:
            self._kill_locked()
            with self.log_path.open("ab") as log:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                log.write(f"--- container started {stamp}\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    ["bash", str(script)],
                    cwd=self.root,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    @property
    def pid(self) -> int | None:
        """The onstart process id (also its process group id), or None before the first start."""
        return self._proc.pid if self._proc else None

    def is_alive(self) -> bool:
        """Whether any process the onstart started is still running."""
        with self._lock:
            proc = self._proc
            return proc is not None and (proc.poll() is None or bool(_session_members(proc.pid)))

    def kill(self, delay: float = 0.0) -> None:
        """Kill the whole onstart process group, as a container stop does to everything in it.

        With a delay the kill happens later, in the background, so that a request the container itself
        made (a self-stop through the API) still gets its answer, as on the real service.
        """
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None and delay > 0:
                timer = threading.Timer(delay, self._fire, [proc])
                timer.daemon = True
                self._pending.append((timer, proc))
                timer.start()
                return
            pending, self._pending = self._pending, []
        # A kill without delay (the emulator stopping, or a later stop) also carries out delayed ones now,
        # so no process outlives the emulator.
        for timer, waiting in pending:
            timer.cancel()
            _kill_group(waiting)
        if proc is not None:
            _kill_group(proc)

    def _fire(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if all(waiting is not proc for _, waiting in self._pending):
                return  # already carried out by a kill without delay
            self._pending = [(t, p) for t, p in self._pending if p is not proc]
        _kill_group(proc)

    def _kill_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _kill_group(proc)

    def tail(self, lines: int | None) -> str:
        """The last `lines` lines of the container's output (all of it when None)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if lines is None:
            return text
        kept = text.splitlines(keepends=True)[-lines:] if lines > 0 else []
        return "".join(kept)


def install_shims(bin_dir: Path) -> None:
    """Put the nvidia-smi, apt-get and dpkg-query stand-ins in `bin_dir`; they keep their state (the GPU
    list, apt calls, installed packages) in `STATE_DIR` beside it."""
    for folder in (bin_dir, bin_dir.parent / STATE_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    for name in SHIMS:
        target = bin_dir / name
        source = resources.files("vastjob.emulator").joinpath("shims", name)
        target.write_bytes(source.read_bytes())
        target.chmod(0o755)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # SIGKILL like Docker's stop after its grace period: the script gets no chance to run its traps,
    # which is what happens to processes in a real container that is stopped or destroyed. A container
    # ends every process in it, so the whole session goes, including children that made process
    # groups of their own (coreutils `timeout` does).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        members = _session_members(proc.pid)
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _session_members(sid: int) -> list[int]:
    """Live processes of session `sid`, read from /proc (zombies left out: they are already dead)."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(sid, 0)
            return [-sid]  # no /proc: the group is all that can be seen (os.kill(-sid) kills it)
        return []
    members = []
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after the command: state, ppid, pgrp, session, ...
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members
