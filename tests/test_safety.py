"""On `embedded` and `endpoint` nothing reaches real AWS, whatever credentials are around.

Every test runs with real-looking credentials in the environment and a network monitor installed
*beneath* labkit's guard (`tests.netmonitor`, autouse `network` below): it records every name
lookup and connection that got past labkit and refuses those that would leave the machine. So
each test checks two things: labkit refused (with an explanation), and nothing outside loopback
was even attempted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import labkit
from labkit.lab.safety import guard_active
from tests.conftest import BACKEND_PARAMS, assert_explained
from tests.netmonitor import Monitor

ROOT = Path(__file__).resolve().parents[1]
REAL_LOOKING = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLETOKEN",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: a profile in real-looking shared files, as on a developer's machine
PROFILE_KEY = "AKIAI44QH8DHBEXAMPLE"
CONFIG_FILES = {
    "config": "[profile production]\nregion = us-east-1\n",
    "credentials": f"[production]\naws_access_key_id = {PROFILE_KEY}\n"
    "aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n",
}


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Monitor:
    """Real-looking credentials and profile files, and the monitor beneath the guard (no lab
    holds it yet)."""
    assert not guard_active(), "a lab from an earlier test still holds the guard"
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in REAL_LOOKING.items():
        monkeypatch.setenv(name, value)
    for name, text in CONFIG_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "production")
    monitor = Monitor()
    monitor.install(monkeypatch.setattr)
    return monitor


@pytest.fixture(params=BACKEND_PARAMS)
def options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """start_lab's arguments for each mocked backend (the lab itself is left to the test)."""
    if request.param == "endpoint":
        return {"backend": "endpoint", "endpoint_url": request.getfixturevalue("server_url")}
    return {"backend": "embedded"}


# -- 1. a lab's clients are bound to it ------------------------------------------------------------


def _assert_stale(call: Callable[[], Any], network: Monitor, service: str) -> None:
    mark = len(network.seen)
    with pytest.raises(labkit.LabNotStarted) as err:
        call()
    assert_explained(err.value, f"lab.client('{service}')")
    assert network.seen[mark:] == [], "a stale client looked a name up or opened a socket"


def test_a_client_used_after_stop_refuses_before_any_network(
    lab: labkit.Lab, network: Monitor
) -> None:
    sqs, sns = lab.client("sqs"), lab.session.client("sns")
    sqs.list_queues()
    lab.stop()
    _assert_stale(sqs.list_queues, network, "sqs")
    _assert_stale(sns.list_topics, network, "sns")
    _assert_stale(lambda: list(sqs.get_paginator("list_queues").paginate()), network, "sqs")
    assert network.outside == []


def test_a_client_used_after_a_with_block_refuses(options: dict, network: Monitor) -> None:
    with labkit.Lab(options["backend"], endpoint_url=options.get("endpoint_url")) as lab:
        events = lab.client("events")
        events.list_event_buses()
    _assert_stale(events.list_event_buses, network, "events")
    assert network.outside == []


def test_a_client_of_a_replaced_lab_refuses(options: dict, network: Monitor) -> None:
    old = labkit.start_lab(**options)
    sqs = old.client("sqs")
    new = labkit.start_lab(**options)
    try:
        _assert_stale(sqs.list_queues, network, "sqs")
        assert new.client("sqs").list_queues().get("QueueUrls") is None
    finally:
        new.stop()
    assert network.outside == []


@pytest.mark.parametrize(
    "mistake",
    [
        {"backend": "embeded"},
        {"backend": "endpoint", "endpoint_url": "http://127.0.0.1:9"},
        {"backend": "aws", "allow_aws": False},
    ],
)
def test_a_failed_setup_cell_leaves_the_working_lab_running(
    lab: labkit.Lab, network: Monitor, mistake: dict
) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    with pytest.raises(labkit.LabError):
        labkit.start_lab(**mistake)
    assert labkit.current_lab() is lab and lab.running
    sqs.send_message(QueueUrl=url, MessageBody="still here")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "still here"
    assert network.outside == []


# -- a client made before moto was imported (its own interpreter) ----------------------------------

#: how every child script starts: the monitor first, beneath whatever the script imports next
PRELUDE = textwrap.dedent(
    """
    import json, os, sys
    from tests.netmonitor import Monitor

    network = Monitor()
    network.install()
    import boto3
    from botocore.config import Config

    no_retry = Config(retries={"max_attempts": 1}, connect_timeout=1)
    """
)

SCENARIO = PRELUDE + textwrap.dedent(
    """
    early = boto3.client("sqs", region_name="us-east-1", config=no_retry)  # before moto

    import labkit

    lab = labkit.start_lab(sys.argv[1], endpoint_url=os.environ.get("URL") or None)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    got = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    late = boto3.client("sqs", region_name="us-east-1", config=no_retry)
    outcome = {}
    for name, client in (("early", early), ("late", late)):
        try:
            client.list_queues()
            outcome[name] = "answered"
        except Exception as exc:
            outcome[name] = f"{type(exc).__name__}: {exc}"
    lab.stop()
    print(json.dumps({"got": got, "outcome": outcome, "outside": network.outside}))
    """
)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_no_call_leaves_the_machine(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("server_url") if backend == "endpoint" else ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    env.update(REAL_LOOKING, URL=url)
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO, backend],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["got"] == "hello"
    # labkit refused the early client before any lookup or connection was attempted
    assert result["outside"] == []
    assert "real AWS host" in result["outcome"]["early"]
    assert "lab.client('sqs')" in result["outcome"]["early"]
    if backend == "embedded":
        # a client made while the mock runs is answered by moto
        assert result["outcome"]["late"] == "answered"
    else:
        # on a server, a client not pointed at it would go to AWS: refused too
        assert "real AWS host" in result["outcome"]["late"]
