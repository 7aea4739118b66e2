"""Notebook kernels forked from a warm process, so `make test` pays each import once per worker.

Every notebook starts a fresh kernel, and a fresh kernel spends about two seconds of CPU before
the lesson's first line does anything: Python, IPython and ipykernel, then labkit, boto3, moto's
services and matplotlib on the setup cell and the first plot. ``make test`` runs 32 notebooks.

A *zygote* (``python -m tests.kernelfork serve SOCKET``) imports all of that once, single-threaded,
and waits on a Unix socket. nbval's kernel command becomes ``python tests/kernelfork.py -f
{connection_file}``: a small launcher that sends the zygote its arguments, working directory,
environment and standard streams; the zygote forks, and the child (a copy of the warm process,
with no lab started and nothing run) becomes the notebook's ipykernel. The launcher stays as the
process jupyter_client watches: it passes signals on and exits when the kernel does, and the
kernel exits if its launcher is killed.

The stored outputs were made by ordinary kernels (``make notebooks``), and nbval compares every
cell's output with them, so a kernel that behaved differently would fail the run.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

#: where the launcher finds its zygote
SOCKET_ENV = "LABKIT_KERNEL_ZYGOTE"


# -- the zygote ------------------------------------------------------------------------------
def _warm() -> None:
    """Import and load what every lesson's kernel needs (no threads, no lab, no mock started)."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import matplotlib.pyplot  # noqa: F401

    lessons_use = (
        "labkit",
        "labkit.lessons",
        "labkit.moto_patches",
        "labkit.plots",
        "labkit.trace.flows",
        "labkit.lessons.tables",
        "labkit.tools.terraform",
        "labkit.lessons.inbox",
        "labkit.lessons.pubsub",
        "labkit.lessons.decoupling",
        "labkit.lessons.capstone",
        "labkit.lessons.message_groups",
        "labkit.lessons.workflows",
        *(f"labkit.checks.{name}" for name in ("sqs", "sns", "eventbridge", "pubsub")),
        *(f"labkit.checks.{name}" for name in ("decoupling", "saga", "capstone")),
        "labkit.checks.lambda_consumers",
        "labkit.checks.workflows_at_scale",
        "labkit.checks.outbox_and_idempotency",
        "networkx",
        "moto.moto_server.werkzeug_app",
        "sqlite3",  # IPython's history
    )
    for name in lessons_use:
        __import__(name)
    from labkit.lab.session import SERVICES
    from labkit.loader import shared_loader

    # botocore's models for the lab's services, parsed once into the loader labs share
    for service in SERVICES:
        shared_loader().load_service_model(service, "service-2")
    # moto's models for those services (its backends are created per lab, after the fork)
    from moto.backends import get_backend

    for service in SERVICES:
        get_backend(service)  # type: ignore[call-overload]
    import moto.stepfunctions.parser.models  # noqa: F401


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the notebook's kernel."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    conn.close()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    del sys.path[0]  # the zygote's own start directory; ipykernel_launcher drops it too
    launcher = os.pidfd_open(request["launcher"])

    def orphaned() -> None:
        select.select([launcher], [], [])
        os._exit(1)  # the launcher is gone: nobody can stop this kernel any more

    threading.Thread(target=orphaned, daemon=True).start()
    import ipykernel_launcher
    from ipykernel import kernelapp

    # ipykernel read JPY_PARENT_PID when the zygote imported it; give it this kernel's value
    parent = f"--IPKernelApp.parent_handle={int(os.environ.get('JPY_PARENT_PID') or 0)}"
    sys.argv = [ipykernel_launcher.__file__, *request["argv"], parent]
    try:
        kernelapp.launch_new_instance()
    finally:
        os._exit(0)


def serve(name: str, parent: int) -> None:
    _warm()
    # what the warm-up loaded stays out of the collector's passes, so the children's garbage
    # collections do not touch (and copy) the zygote's memory
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped without a wait
    watched = os.pidfd_open(parent)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind("\0" + name)  # an abstract socket: no file, no path length limit
        listener.listen(8)
        print("ready", flush=True)
        while True:
            readable, _, _ = select.select([listener, watched], [], [])
            if watched in readable:
                return  # the test process is gone: so is its zygote
            conn, _ = listener.accept()
            with conn:
                data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
                while chunk := conn.recv(1 << 16):  # the launcher closes its side when done
                    data += chunk
                request = json.loads(data)
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _child(conn, request, fds)
                for fd in fds:
                    os.close(fd)
                conn.sendall(json.dumps({"pid": pid}).encode())


def available() -> bool:
    """Forked kernels need Linux (pidfd); elsewhere notebooks get ordinary kernels."""
    return hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


class Zygote:
    """One zygote per test process, started on first use."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.path: str | None = None

    def start(self) -> str:
        if self.proc is not None and self.proc.poll() is None and self.path is not None:
            return self.path
        self.path = f"labkit-kernel-zygote-{os.getpid()}-{os.urandom(4).hex()}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.kernelfork", "serve", self.path, str(os.getpid())],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("the kernel zygote (python -m tests.kernelfork serve) did not start")
        return self.path

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


ZYGOTE = Zygote()


# -- the launcher -----------------------------------------------------------------------------
def launch(argv: list[str]) -> int:
    """Have the zygote fork a kernel with these arguments; live as long as it does."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect("\0" + os.environ[SOCKET_ENV])
        request = {
            "argv": argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "launcher": os.getpid(),
        }
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        conn.shutdown(socket.SHUT_WR)
        pid = json.loads(conn.recv(4096))["pid"]
    kernel = os.pidfd_open(pid)

    def forward(signum: int, frame: Any) -> None:
        signal.pidfd_send_signal(kernel, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    while True:
        try:
            select.select([kernel], [], [])
            return 0
        except InterruptedError:
            continue


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(launch(sys.argv[1:]))
