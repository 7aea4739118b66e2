"""The workbook in a real browser: JupyterLab started by `make lab`, driven by headless Chromium.

Opens a lesson, runs every cell from JupyterLab's own command, and reads the page: no cell may
show an error, and every plot the stored notebook has must render as an image. A second test
feeds the lesson's first cells and a cell that raises, to prove the check sees errors.
Runs in `make test` whenever Debian's chromium is installed (`.ci/run` installs it), skipped
with the reason otherwise. Every wait has a hard limit, and JupyterLab is killed on the way out,
so a stuck browser or server fails the test within minutes instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
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

from tests.nboutputs import stored_outputs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LESSON = "00-welcome.ipynb"
TOKEN = "labkit-browser-test"
SERVER_START_S = 90  # `make lab` up and answering
STEP_MS = 30_000  # any single browser action (page load, selector, click)
RUN_ALL_MS = 120_000  # Run All from click to an idle kernel
TEST_S = 120  # whole test, whatever happens inside

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install -e '.[dev]')",
    ),
]


class _Overran(Exception):
    pass


@pytest.fixture(autouse=True)
def _hard_limit() -> Iterator[None]:
    """Fail (not hang) a test that runs past TEST_S seconds."""

    def overran(signum: int, frame: Any) -> None:
        raise _Overran(f"browser test ran past its {TEST_S} s limit")

    previous = signal.signal(signal.SIGALRM, overran)
    signal.alarm(TEST_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`make lab` exited with {proc.returncode} before serving")
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        yield url, books
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End `make lab` and everything it started (JupyterLab, kernels): TERM, then KILL."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
            timeout=STEP_MS,
        )
        context.set_default_timeout(STEP_MS)
        context.set_default_navigation_timeout(STEP_MS)
        try:
            yield context
        finally:
            context.close()


def _run_all(browser: Any, url: str, name: str) -> dict[str, Any]:
    """Open `name`, run all cells, wait for the kernel to finish; report errors and images."""
    page = browser.new_page()
    try:
        # a workspace of its own, so JupyterLab does not restore (and run) an earlier notebook
        workspace = name.removesuffix(".ipynb")
        page.goto(
            f"{url}/lab/workspaces/{workspace}/tree/{name}?reset&token={TOKEN}",
            wait_until="domcontentloaded",
        )
        page.wait_for_selector(
            ".jp-Notebook .jp-Cell.jp-CodeCell", state="attached", timeout=STEP_MS
        )
        page.wait_for_selector(
            '.jp-Notebook-ExecutionIndicator[data-status="idle"]', state="attached", timeout=STEP_MS
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        # stored execution counts gone from every prompt: a number seen later is from this run
        page.wait_for_function(
            """() => ![...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                .some(p => /\\d|\\*/.test(p.textContent))""",
            timeout=STEP_MS,
        )
        # Run All stops at a cell that raises, so "done" is: nothing queued or running
        done = """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const idle = document.querySelector(
                '.jp-Notebook-ExecutionIndicator[data-status="idle"]');
            return idle && !prompts.some(p => p.textContent.includes('*'));
        }"""
        # "ran": every code cell has an execution count, or one of them raised (Run All stops)
        ran = """() => {
            const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
            let all = true, raised = false;
            for (let i = 0; i < cells.length; i++) {
                const cell = cells.get(i);
                if (cell.type !== 'code') continue;
                if (cell.executionCount === null) all = false;
                if (cell.outputs.toJSON().some(o => o.output_type === 'error')) raised = true;
            }
            return all || raised;
        }"""
        # The kernel may say idle before its socket is ready; a Run All sent then is dropped
        # (the cells show [*] for a moment, then nothing ran). Run again until the cells ran.
        for _attempt in range(4):
            # fire and forget: the command's promise settles only when every cell has run
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            page.wait_for_timeout(1_000)
            page.wait_for_function(done, timeout=RUN_ALL_MS)
            page.wait_for_timeout(1_000)
            page.wait_for_function(done, timeout=RUN_ALL_MS)
            if page.evaluate(ran):
                break
        assert page.evaluate(ran), "Run All did not run the notebook's cells (4 attempts)"
        # JupyterLab renders outputs a moment after the kernel goes idle (later still on a busy
        # machine): wait until the page shows, decoded, every image the notebook's model holds
        with contextlib.suppress(Exception):
            page.wait_for_function(
                """() => {
                    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                    let held = 0;
                    for (let i = 0; i < cells.length; i++) {
                        const outs = cells.get(i).outputs;
                        if (!outs) continue;
                        held += outs.toJSON().filter(o => Object.keys(o.data || {})
                            .some(k => k.startsWith('image/'))).length;
                    }
                    const shown = [...document.querySelectorAll(
                        '.jp-OutputArea-output[data-mime-type^="image/"] img')];
                    return shown.length >= held
                        && shown.every(i => i.complete && i.naturalWidth > 0);
                }""",
                timeout=RUN_ALL_MS,
            )
        return page.evaluate(
            """(NAME) => {
                const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
                // errors from the notebook's model too (cells scrolled out of the page)
                const widget = window.jupyterapp.shell.currentWidget;
                if (!widget.context || widget.context.path !== NAME) {
                    return {errors: ['Run All ran ' + (widget.context || {}).path], images: -1};
                }
                const cells = widget.content.model.cells;
                const modelErrors = [];
                for (let i = 0; i < cells.length; i++) {
                    const outs = cells.get(i).outputs;
                    if (!outs) continue;
                    for (const o of outs.toJSON()) {
                        if (o.output_type === 'error') modelErrors.push(o.ename + ': ' + o.evalue);
                    }
                }
                const errors = outputs
                    .filter(o => o.getAttribute('data-mime-type') ===
                                 'application/vnd.jupyter.stderr')
                    .map(o => o.textContent)
                    .filter(t => /Traceback|\\w+(Error|Exception)\\b/.test(t));
                const images = [...document.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type^="image/"] img')];
                return {
                    errors: [...new Set([...errors, ...modelErrors])],
                    images: images.length,
                    rendered: images.filter(i => i.complete && i.naturalWidth > 0).length,
                };
            }""",
            name,
        )
    finally:
        page.close()


def _stored_images(path: Path) -> int:
    return sum(
        1
        for _, out in stored_outputs(path)
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
    # the lesson up to its first SQS cell, then a call that raises
    first_sqs = next(i for i, c in enumerate(nb.cells) if 'lab.client("sqs")' in c.source)
    nb.cells = nb.cells[: first_sqs + 1]
    nb.cells.append(nbformat.v4.new_code_cell("sqs.get_queue_url(QueueName='no-such-queue')"))
    nbformat.write(nb, books / "broken.ipynb")
    report = _run_all(browser, url, "broken.ipynb")
    assert any("QueueDoesNotExist" in e for e in report["errors"]), report
