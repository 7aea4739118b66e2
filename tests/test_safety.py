"""On `embedded` and `endpoint` nothing reaches real AWS, whatever credentials are around.

Each scenario runs in a fresh interpreter, so a boto3 client can be made *before* moto is
imported, with real-looking credentials, while every outbound socket except loopback is refused
and recorded by the test itself (not by labkit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCENARIO = textwrap.dedent(
    """
    import ipaddress, json, os, socket, sys

    attempts = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def is_loopback(host):
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host == "localhost"

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            attempts.append(f"connect {address[0]}")
            raise OSError("outbound network blocked by the test")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not is_loopback(name):
            attempts.append(f"resolve {name}")
            raise socket.gaierror("outbound network blocked by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.getaddrinfo = getaddrinfo

    import boto3
    from botocore.config import Config

    no_retry = Config(retries={"max_attempts": 1}, connect_timeout=1)
    early = boto3.client("sqs", region_name="us-east-1", config=no_retry)  # before moto

    import labkit

    backend = sys.argv[1]
    lab = labkit.start_lab(backend, endpoint_url=os.environ.get("URL"))
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
    print(json.dumps({"got": got, "outcome": outcome, "attempts": attempts}))
    """
)

REAL_LOOKING = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _run(backend: str, url: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    env.update(REAL_LOOKING, URL=url)
    proc = subprocess.run(
        [sys.executable, "-c", SCENARIO, backend],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["embedded", "endpoint"])
def test_no_call_leaves_the_machine(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("server_url") if backend == "endpoint" else ""
    result = _run(backend, url)
    assert result["got"] == "hello"
    # labkit refused the early client before any lookup or connection was attempted
    assert result["attempts"] == []
    assert (
        result["outcome"]["early"].count("RealAwsBlocked")
        or "real AWS host" in (result["outcome"]["early"])
    )
    assert "lab.client('sqs')" in result["outcome"]["early"]
    if backend == "embedded":
        # a client made while the mock runs is answered by moto
        assert result["outcome"]["late"] == "answered"
    else:
        # on a server, a client not pointed at it would go to AWS: refused too
        assert "real AWS host" in result["outcome"]["late"]
