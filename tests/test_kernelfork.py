"""The forked kernels `make test` uses behave like fresh ones, and do not outlive their launcher."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from tests import kernelfork

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(not kernelfork.available(), reason="forked kernels need Linux (pidfd)"),
]

LAUNCHER = str(Path(kernelfork.__file__))


@pytest.fixture(scope="module")
def zygote() -> Iterator[str]:
    zygote = kernelfork.Zygote()
    yield zygote.start()
    zygote.stop()


def _launch(zygote: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], BlockingKernelClient]:
    connection, _ = write_connection_file(str(tmp_path / "kernel.json"))
    env = {**os.environ, kernelfork.SOCKET_ENV: zygote, "KERNELFORK_PROBE": "from-the-launcher"}
    launcher = subprocess.Popen([sys.executable, LAUNCHER, "-f", connection], cwd=tmp_path, env=env)
    client = BlockingKernelClient(connection_file=connection)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return launcher, client


def _run(client: BlockingKernelClient, code: str) -> str:
    out: list[str] = []

    def keep(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = client.execute_interactive(code, output_hook=keep, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def test_a_forked_kernel_starts_where_and_as_its_launcher_says(zygote: str, tmp_path: Path) -> None:
    launcher, client = _launch(zygote, tmp_path)
    try:
        seen = _run(
            client,
            "import os, sys, matplotlib\n"
            "print(os.getcwd(), os.environ['KERNELFORK_PROBE'], matplotlib.get_backend())\n"
            "print(sys.path[0] != os.getcwd(), 'labkit' in sys.modules)",
        )
        cwd, probe, mpl, path_ok, warm = seen.split()
        assert Path(cwd) == tmp_path
        assert probe == "from-the-launcher"  # the launcher's environment, not the zygote's
        assert mpl == "module://matplotlib_inline.backend_inline"
        assert path_ok == "True"
        assert warm == "True"  # imported once, in the zygote
        # a lab and a plot work as in a fresh kernel: the inline backend shows the figure
        shown: list[str] = []
        reply = client.execute_interactive(
            "import labkit\nfrom labkit.plots import plot_topology\nlab = labkit.start_lab()\n"
            "lab.client('sqs').create_queue(QueueName='q')\nax = plot_topology(lab)",
            output_hook=lambda msg: shown.append(msg["msg_type"]),
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
        assert "display_data" in shown
    finally:
        client.shutdown()
        client.stop_channels()
        launcher.wait(timeout=30)


def test_a_kernel_ends_with_its_launcher(zygote: str, tmp_path: Path) -> None:
    launcher, client = _launch(zygote, tmp_path)
    pid = int(_run(client, "import os; print(os.getpid())"))
    client.stop_channels()
    launcher.kill()
    launcher.wait(timeout=10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "the forked kernel outlived its launcher"
