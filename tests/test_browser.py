"""The workbook in a real browser: JupyterLab started by `make lab`, driven by headless Chromium.

Opens a lesson, runs every cell from JupyterLab's own command, and reads the page: no cell may
show an error, and every plot the stored notebook has must render as an image. A second test
feeds a copy of the lesson with a cell that raises, to prove the check sees errors.
Runs when Debian's chromium is installed (`.ci/run` installs it), skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LESSON = "00-welcome.ipynb"
TOKEN = "labkit-browser-test"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        os.environ.get("LABKIT_BROWSER_TESTS") != "1",
        reason="browser tests run with LABKIT_BROWSER_TESTS=1 (make browser-test)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`make lab` serving a copy of notebooks/ (so nothing the browser does touches the repo)."""
    work = tmp_path_factory.mktemp("lab")
    books = work / "notebooks"
    shutil.copytree(ROOT / "notebooks", books)
    settings = work / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    ).write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False})
    )
    port = _free_port()
    args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={TOKEN} --LabApp.expose_app_in_browser=True"
    )
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
    }
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}", f"NOTEBOOK_DIR={books}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
        raise RuntimeError("JupyterLab did not start within 90 s")
    try:
        yield url, books
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium")),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


def _run_all(browser: Any, url: str, name: str) -> dict[str, Any]:
    """Open `name`, run all cells, wait for the kernel to finish; report errors and images."""
    page = browser.new_page()
    try:
        page.goto(f"{url}/lab/tree/{name}?token={TOKEN}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell.jp-CodeCell", timeout=60_000)
        page.wait_for_selector(
            '.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        started = False
        for _attempt in range(6):  # the kernel may say idle before its socket is ready
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                page.wait_for_function(
                    """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                        .some(p => p.textContent.includes('*') || /\\d/.test(p.textContent))""",
                    timeout=5_000,
                )
                started = True
                break
            except Exception:
                page.wait_for_timeout(1_000)
        assert started, "Run All did not start the kernel"
        # Run All stops at a cell that raises, so "done" is: nothing queued or running
        done = """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const idle = document.querySelector(
                '.jp-Notebook-ExecutionIndicator[data-status="idle"]');
            return idle && !prompts.some(p => p.textContent.includes('*'));
        }"""
        page.wait_for_function(done, timeout=120_000)
        page.wait_for_timeout(1_000)
        page.wait_for_function(done, timeout=120_000)
        page.wait_for_timeout(500)
        return page.evaluate(
            """() => {
                const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
                const errors = outputs
                    .filter(o => o.getAttribute('data-mime-type') ===
                                 'application/vnd.jupyter.stderr')
                    .map(o => o.textContent)
                    .filter(t => /Traceback|\\w+(Error|Exception)\\b/.test(t));
                const images = [...document.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type^="image/"] img')];
                return {
                    errors: errors,
                    images: images.length,
                    rendered: images.filter(i => i.complete && i.naturalWidth > 0).length,
                };
            }"""
        )
    finally:
        page.close()


def _stored_images(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if any(k.startswith("image/") for k in out.get("data", {}))
    )


def test_a_lesson_runs_clean_in_jupyterlab(jupyterlab: tuple[str, Path], browser: Any) -> None:
    url, books = jupyterlab
    report = _run_all(browser, url, LESSON)
    assert report["errors"] == []
    expected = _stored_images(books / LESSON)
    assert report["images"] == expected
    assert report["rendered"] == expected


def test_the_check_sees_a_cell_that_raises(jupyterlab: tuple[str, Path], browser: Any) -> None:
    url, books = jupyterlab
    nb = nbformat.read(books / LESSON, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("sqs.get_queue_url(QueueName='no-such-queue')"))
    nbformat.write(nb, books / "broken.ipynb")
    report = _run_all(browser, url, "broken.ipynb")
    assert any("QueueDoesNotExist" in e for e in report["errors"]), report
