"""The demo's child processes: started in their own process group (a Ctrl-C in the terminal
reaches only the demo, which then stops them in order), told to stop by the kernel should the
demo die without stopping them (Linux), output to a log file each."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

#: prctl(2) option: the signal a child gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _stop_when_parent_dies() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One part of the demo as a process: ``argv`` with ``env``, output in ``log``."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._signalled = False

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("wb")
        linux = sys.platform.startswith("linux")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules, no shell
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_stop_when_parent_dies if linux else None,
        )

    def exit_code(self) -> int | None:
        """None while running (or never started); the exit code once it ended."""
        return None if self.process is None else self.process.poll()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` once, if it runs."""
        if self.process is not None and self.process.poll() is None and not self._signalled:
            self.process.send_signal(sig)
            self._signalled = True

    def stop(self, sig: signal.Signals, timeout_s: float) -> int | None:
        """Send ``sig`` and wait up to ``timeout_s``; then SIGKILL. Its exit code (None: it was
        never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.send(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._out is not None:
            self._out.close()
            self._out = None
        return self.process.returncode

    def tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of its output."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    timeout_s: float,
    *,
    interrupted: Callable[[], bool],
    alive: Callable[[], bool] = lambda: True,
    every_s: float = 0.25,
) -> str | None:
    """Poll ``ready`` until it holds: None; else why it stopped waiting ("interrupted",
    "exited" when ``alive`` turned false, "timeout")."""
    deadline = time.monotonic() + timeout_s
    while True:
        if interrupted():
            return "interrupted"
        if not alive():
            return "exited"
        if ready():
            return None
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(every_s)
