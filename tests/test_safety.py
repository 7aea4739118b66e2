"""On `embedded` and `endpoint` nothing reaches real AWS, whatever credentials, proxies and
endpoint settings are around.

Every test runs with real-looking credentials in the environment and a network monitor installed
*beneath* labkit's guard (`tests.netmonitor`, autouse `network` below): it records every name
lookup and connection that got past labkit and refuses those that would leave the machine. So
each test checks two things: labkit refused (with an explanation), and nothing outside loopback
was even attempted. Child processes run the same monitor.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore
import certifi
import pytest
from botocore.config import Config
from botocore.configprovider import ConfiguredEndpointProvider
from moto.core.models import botocore_stubber

import labkit
from labkit.lab.awshosts import is_aws_host
from labkit.lab.children import ABSENT_FILE, SINK
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
#: a proxy that does not exist, named so that any use of it shows in the monitor
PROXY = "http://proxy.example.invalid:3128"
#: documentation addresses (RFC 5737): outside the machine, and never anyone's server
OUTSIDE_IP = "198.51.100.7"
NO_RETRY = Config(retries={"max_attempts": 1}, connect_timeout=1)
BOTOCORE_PROVIDE = ConfiguredEndpointProvider.provide  # botocore's own (no lab runs at import)


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


def _refusal(error: BaseException) -> labkit.RealAwsBlocked:
    """The guard's refusal inside `error` (botocore wraps what its HTTP client raises)."""
    seen: BaseException | None = error
    while seen is not None and not isinstance(seen, labkit.RealAwsBlocked):
        seen = getattr(seen, "kwargs", {}).get("error") or seen.__cause__ or seen.__context__
    assert isinstance(seen, labkit.RealAwsBlocked), repr(error)
    return seen


def _refused(call: Callable[[], Any], *fragments: str) -> labkit.RealAwsBlocked:
    with pytest.raises(Exception) as caught:
        call()
    refusal = _refusal(caught.value)
    assert_explained(refusal, *fragments)
    return refusal


def _unmocked(service: str, **kwargs: Any) -> Any:
    """A plain boto3 client that moto does not intercept (as one made before moto's import)."""
    client = boto3.client(service, region_name="us-east-1", config=NO_RETRY, **kwargs)
    client.meta.events.unregister("before-send", botocore_stubber)
    return client


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
        {"backend": "endpoint", "endpoint_url": "https://sqs.us-east-1.amazonaws.com"},
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


def test_an_aws_url_is_no_endpoint_even_before_any_lab(network: Monitor) -> None:
    """The first setup cell: no lab holds the guard yet, and the URL is not even probed."""
    with pytest.raises(labkit.LabError) as err:
        labkit.start_lab("endpoint", endpoint_url="https://sqs.us-east-1.amazonaws.com")
    assert "a real AWS endpoint" in str(err.value) and "python -m labkit.server" in str(err.value)
    assert network.seen == []


# -- 2. the guard refuses at the connection ----------------------------------------------------


def test_an_endpoint_written_as_an_address_is_refused(lab: labkit.Lab, network: Monitor) -> None:
    for url in (f"https://{OUTSIDE_IP}", "https://[2001:db8::7]:443"):
        _refused(_unmocked("sqs", endpoint_url=url).list_queues, "no name lookup gave")
    _refused(lambda: socket.create_connection((OUTSIDE_IP, 443), timeout=1), OUTSIDE_IP)
    with socket.socket() as raw:
        _refused(lambda: raw.connect_ex((OUTSIDE_IP, 443)), OUTSIDE_IP)
    assert network.outside == []


def test_an_address_a_name_lookup_gave_is_let_through(lab: labkit.Lab, network: Monitor) -> None:
    """The rule is about addresses nobody named: a named server still reaches the network
    (here the monitor, which stands for it, records and refuses the connection)."""
    network.answers["queue.example.test"] = OUTSIDE_IP
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("queue.example.test", 443), timeout=1)
    assert network.outside == [f"connect {OUTSIDE_IP}"]


@pytest.mark.parametrize(
    "host",
    [
        "sqs.us-east-1.amazonaws.com",
        "sqs.cn-north-1.amazonaws.com.cn",
        "sqs.us-east-1.api.aws",
        "abc123.lambda-url.us-east-1.on.aws",
        "signin.aws.amazon.com",
        "SQS.US-EAST-1.AMAZONAWS.COM.",
    ],
)
def test_every_lookup_of_an_aws_host_is_refused(
    lab: labkit.Lab, network: Monitor, host: str
) -> None:
    _refused(lambda: socket.getaddrinfo(host, 443), "name lookup", host)
    _refused(lambda: socket.gethostbyname(host), "name lookup", host)
    _refused(lambda: socket.gethostbyname_ex(host), "name lookup", host)
    with socket.socket() as raw:  # connect() resolves a name in C, past getaddrinfo
        _refused(lambda: raw.connect((host, 443)), "real AWS host")
    _refused(lambda: urllib.request.urlopen(f"https://{host}/", timeout=1), host)
    assert network.outside == []


def test_a_lambda_function_url_is_refused(lab: labkit.Lab, network: Monitor) -> None:
    url = "https://abc123.lambda-url.us-east-1.on.aws/"
    _refused(lambda: urllib.request.urlopen(url, timeout=1), "on.aws")
    assert network.outside == []


def test_every_host_in_botocores_endpoint_data_is_an_aws_host() -> None:
    """The guard's domain families cover every URL botocore knows: each rule set's fixed hosts
    (a host ending in a partition's suffix comes from `aws_domains()`, read from the same data)."""
    data = Path(botocore.__file__).parent / "data"
    found = re.compile(r'"(?:url|hostname|dnsSuffix|dualStackDnsSuffix)"\s*:\s*"([^"]+)"')
    missing = set()
    for path in [data / "endpoints.json", data / "partitions.json"]:
        missing |= _not_aws(found.findall(path.read_text()))
    for path in data.glob("*/*/endpoint-rule-set-1.json*"):
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
        missing |= _not_aws(found.findall(text))
    assert missing == set()


def _not_aws(urls: list[str]) -> set[str]:
    hosts = set()
    for url in urls:
        host = url.split("://")[-1].split("/")[0].rsplit(":", 1)[0]
        if host.endswith("}") or host in ("localhost", "{Endpoint}"):
            continue  # the suffix is a partition's (checked above), or the caller's endpoint
        hosts.add(re.sub(r"\{[^}]*\}", "x", host))
    return {host for host in hosts if not is_aws_host(host)}


# -- proxies ---------------------------------------------------------------------------------------


@pytest.fixture
def proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead proxy for every scheme, as a learner's shell might set (the monitor sees any use)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen reads proxies once, lazily


def test_the_labs_own_calls_skip_the_proxies(
    proxies: None, options: dict, network: Monitor
) -> None:
    lab = labkit.start_lab(**options)  # the endpoint's probe, reset and seed: past the proxy too
    try:
        sqs = lab.client("sqs")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        lab.advance(5)
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
        lab.reset()
        assert sqs.meta.config.proxies == {}
    finally:
        lab.stop()
    assert network.outside == []


def test_a_tunnel_to_aws_through_a_proxy_is_refused(
    proxies: None, lab: labkit.Lab, network: Monitor
) -> None:
    _refused(_unmocked("sqs").list_queues, "CONNECT", "proxy.example.invalid:3128")
    connection = http.client.HTTPSConnection("proxy.example.invalid", 3128)
    _refused(lambda: connection.set_tunnel("sqs.us-east-1.amazonaws.com", 443), "CONNECT")
    _refused(lambda: connection.set_tunnel("sqs.us-east-1.amazonaws.com:443"), "CONNECT")
    opener = urllib.request.build_opener()  # reads the proxies now (urlopen's is built once)
    _refused(lambda: opener.open("https://sqs.us-east-1.amazonaws.com/"), "CONNECT")
    # plain HTTP through a proxy asks it for the whole URL: no tunnel, refused all the same
    plain = _unmocked("sqs", endpoint_url="http://sqs.us-east-1.amazonaws.com")
    _refused(plain.list_queues, "through the proxy")
    assert network.outside == []


# -- 3. processes the notebook starts --------------------------------------------------------------

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

CHILD = PRELUDE + textwrap.dedent(
    """
    credentials = boto3.Session().get_credentials()
    try:
        sqs = boto3.client("sqs", config=no_retry)
        outcome = sqs.list_queues().get("QueueUrls", [])
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({
        "outcome": outcome,
        "key": credentials.access_key if credentials else None,
        "token": credentials.token if credentials else None,
        "outside": network.outside,
        "env": {k: v for k, v in os.environ.items() if k.startswith("AWS_") or "PROXY" in k},
    }))
    """
)


def _child() -> dict[str, Any]:
    """A Python process started from the lab's process, inheriting its environment."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_child_process_reaches_the_lab_never_aws(
    proxies: None, monkeypatch: pytest.MonkeyPatch, lab: labkit.Lab, network: Monitor
) -> None:
    url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    monkeypatch.setenv("AWS_CA_BUNDLE", certifi.where())  # trust, not a credential: kept
    seen = _child()
    assert seen["outside"] == [], "the child tried to leave the machine"
    assert seen["key"] not in (REAL_LOOKING["AWS_ACCESS_KEY_ID"], PROFILE_KEY)
    assert seen["token"] is None
    env = seen["env"]
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == ABSENT_FILE
    assert not Path(ABSENT_FILE).exists()
    assert not [name for name in env if name.startswith("AWS_ENDPOINT_URL_")]
    assert "127.0.0.1" in env["NO_PROXY"].split(",")
    assert env["AWS_CA_BUNDLE"] == certifi.where()
    if lab.backend.name == "endpoint":
        # the child's SDK is answered by the lab's own server: it sees the lab's queue
        assert env["AWS_ENDPOINT_URL"] == lab.backend.endpoint_url
        assert [u.rsplit("/", 1)[-1] for u in seen["outcome"]] == [url.rsplit("/", 1)[-1]]
    else:
        # moto lives in the notebook's process: the child's call fails, on loopback
        assert env["AWS_ENDPOINT_URL"] == SINK
        assert f'"{SINK}/"' in seen["outcome"], seen["outcome"]
    assert network.outside == []


def test_a_child_process_gets_no_aws_endpoint_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, options: dict, network: Monitor
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.us-east-1.amazonaws.com")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    with labkit.Lab(**options):
        seen = _child()
    assert "AWS_ENDPOINT_URL_SQS" not in seen["env"]
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in seen["env"]
    assert seen["outside"] == [] and network.outside == []


# -- 4. the environment cannot redirect the lab's clients ------------------------------------------


def test_endpoint_variables_do_not_redirect_the_labs_clients(
    monkeypatch: pytest.MonkeyPatch, options: dict, network: Monitor
) -> None:
    elsewhere = f"http://{OUTSIDE_IP}:4566"
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.setenv(name, elsewhere)  # before the lab starts
    lab = labkit.start_lab(**options)
    try:
        sqs = lab.client("sqs")
        sqs.create_queue(QueueName="orders")
        with monkeypatch.context() as during:
            # while it runs, with the guard's in-process hiding of these variables undone: the
            # lab's clients ignore them by their own configuration, plain clients would follow
            during.setattr(ConfiguredEndpointProvider, "provide", BOTOCORE_PROVIDE)
            for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS"):
                during.setenv(name, elsewhere)
            assert boto3.client("sns", region_name="us-east-1").meta.endpoint_url == elsewhere
            sns = lab.client("sns")
            sns.create_topic(Name="news")
        for client in (sqs, sns):
            assert OUTSIDE_IP not in client.meta.endpoint_url
    finally:
        lab.stop()
    assert network.outside == []


# -- held while a mocked lab runs, lifted with the last --------------------------------------------


def test_the_guard_comes_and_goes_with_the_mocked_labs(server_url: str, network: Monitor) -> None:
    """Two mocked labs (one lab per AWS world: this process's moto, and a server) hold the
    guard together; the last to stop puts everything back."""
    before_env = dict(os.environ)
    before_socket = (socket.getaddrinfo, socket.gethostbyname, vars(socket.socket).get("connect"))
    first = labkit.Lab("embedded").start()
    second = labkit.Lab("endpoint", endpoint_url=server_url).start()
    try:
        assert guard_active() and os.environ["AWS_ENDPOINT_URL"] == server_url  # the latest
        first.stop()
        assert guard_active()
        assert os.environ["AWS_ACCESS_KEY_ID"] != REAL_LOOKING["AWS_ACCESS_KEY_ID"]
    finally:
        first.stop()
        second.stop()
    assert not guard_active()
    assert dict(os.environ) == before_env  # absent variables absent again
    after_socket = (socket.getaddrinfo, socket.gethostbyname, vars(socket.socket).get("connect"))
    assert after_socket == before_socket
    assert network.outside == []


def test_the_aws_backend_holds_no_guard(network: Monitor) -> None:
    from moto import mock_aws

    with mock_aws():  # stands in for the account; the lab itself runs as on AWS
        before = dict(os.environ)
        lab = labkit.Lab("aws", allow_aws=True).start()
        sqs = lab.client("sqs")
        assert not guard_active()
        assert dict(os.environ) == before
        assert sqs.meta.config.proxies is None  # the environment's proxies, as before
        lab.stop()
        assert sqs.list_queues().get("QueueUrls") is None  # as before: not bound to the lab
    assert network.outside == []


# -- a client made before moto was imported (its own interpreter) ----------------------------------

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
