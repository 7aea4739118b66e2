"""One ``python -m labkit.server`` per test process, in a process of its own, started on first use.

The unit tests' ``server_url`` fixture and the notebooks' endpoint runs (``tests/nbbackends.py``)
share it: a worker runs one test or one notebook at a time, and each lab resets the server when it
starts. Its own process, because the server's simulated clock and moto must not share a process
with the labs of the unit tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

_BANNER = re.compile(r"labkit server on (http://\S+)")


class LabServerProcess:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self) -> str:
        """The server's URL, starting it if this process has none yet."""
        if self.url is not None and self.proc is not None and self.proc.poll() is None:
            return self.url
        self.stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.server", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # the server prints its banner once it listens
            seen.append(line)
            found = _BANNER.search(line)
            if found:
                self.url = found.group(1)
                return self.url
        self.stop()
        raise RuntimeError("python -m labkit.server exited before serving:\n" + "".join(seen[-20:]))

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.url = None


#: this test process's server
SERVER = LabServerProcess()
