"""The AWS documentation as the test: every documented example, end to end and explained.

On `embedded` and on a `python -m labkit.server` (labkit's moto changes applied in both) every
case must come out as the documentation states. The cases also run against a STOCK moto server
(no labkit changes), where the ones stock moto gets wrong are expected failures (strict), so a
moto upgrade that fixes one shows up.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import matcher as matching
from labkit.lessons import allow_delivery
from tests.doc_cases import CASES, DocCase

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first

STOCK_SERVER = (
    "import logging, sys, threading\n"
    "from moto.server import ThreadedMotoServer\n"
    "logging.getLogger('werkzeug').setLevel(logging.CRITICAL)\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "host, port = server.get_host_and_port()\n"
    "print(f'http://{host}:{port}', flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


@pytest.fixture(scope="module")
def stock_server() -> Iterator[str]:
    """A stock moto server (ThreadedMotoServer without labkit's patches) in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", STOCK_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"stock moto server did not start: {url!r}")
    yield url
    proc.stdin.close()
    proc.wait(timeout=10)


@pytest.fixture(scope="module", params=["embedded", "labkit-server", "stock-moto"])
def doc_lab(request: pytest.FixtureRequest) -> Iterator[labkit.Lab]:
    """One lab per backend for all cases (each case makes its own topic, queue or rule)."""
    if request.param == "stock-moto":
        lab = labkit.Lab("endpoint", endpoint_url=request.getfixturevalue("stock_server"))
    elif request.param == "labkit-server":
        lab = labkit.Lab("endpoint", endpoint_url=request.getfixturevalue("server_url"))
    else:
        lab = labkit.Lab("embedded")
    lab.start()
    yield lab
    lab.stop()


def _queue(lab: labkit.Lab, name: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _delivered(lab: labkit.Lab, url: str) -> bool:
    answer = lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return bool(answer.get("Messages"))


def _run_sns(lab: labkit.Lab, case: DocCase, index: int) -> str:
    sns = lab.client("sns")
    topic = sns.create_topic(Name=f"doc-{index}")["TopicArn"]
    url, arn = _queue(lab, f"doc-sns-{index}")
    allow_delivery(lab, topic, arn)
    attributes = {"FilterPolicy": json.dumps(case.pattern), "RawMessageDelivery": "true"}
    if case.scope != "MessageAttributes":
        attributes["FilterPolicyScope"] = case.scope
    try:
        sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    except ClientError:
        return "invalid"
    if case.expected == "invalid":
        return "accepted"
    publish: dict[str, Any] = {"TopicArn": topic, "Message": case.body}
    if case.attributes:
        publish["MessageAttributes"] = case.attributes
    sns.publish(**publish)
    outcome = "delivered" if _delivered(lab, url) else "dropped"
    # the explainer reads the policy back from the service: it must say the same as AWS
    verdict = labkit.why_not_delivered(
        lab, subscription_arn=sub["SubscriptionArn"], message=case.body, attributes=case.attributes
    )
    assert verdict.matched == (case.expected == "delivered"), verdict
    return outcome


def _run_events(lab: labkit.Lab, case: DocCase, index: int) -> str:
    events = lab.client("events")
    rule = f"doc-{index}"
    try:
        rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps(case.pattern))["RuleArn"]
    except ClientError:
        return "invalid"
    if case.expected == "invalid":
        events.delete_rule(Name=rule)
        return "accepted"
    url, arn = _queue(lab, f"doc-eb-{index}")
    allow_delivery(lab, rule_arn, arn)
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn}])
    entry: dict[str, Any] = {
        "Source": case.event["source"],
        "DetailType": case.event["detail-type"],
        "Detail": json.dumps(case.event["detail"]),
    }
    if "resources" in case.event:
        entry["Resources"] = case.event["resources"]
    if "time" in case.event:
        entry["Time"] = dt.datetime.fromisoformat(case.event["time"].replace("Z", "+00:00"))
    events.put_events(Entries=[entry])
    outcome = "delivered" if _delivered(lab, url) else "dropped"
    # the explainer reads the pattern back from the service: it must say the same as AWS
    verdict = labkit.why_not_matched(lab, rule=rule, event=case.event)
    assert verdict.matched == (case.expected == "delivered"), verdict
    # later events go past fewer rules
    events.remove_targets(Rule=rule, Ids=["queue"])
    events.delete_rule(Name=rule)
    return outcome


def _params() -> list[Any]:
    return [pytest.param(i, case, id=case.id) for i, case in enumerate(CASES)]


@pytest.mark.parametrize(("index", "case"), _params())
def test_documented_outcome_end_to_end(
    doc_lab: labkit.Lab, index: int, case: DocCase, request: pytest.FixtureRequest
) -> None:
    if (
        doc_lab.backend.name == "endpoint"
        and not doc_lab.backend.labkit_server
        and (case.moto_differs)
    ):
        request.applymarker(
            pytest.mark.xfail(reason=f"stock moto: {case.moto_differs}", strict=True)
        )
    run = _run_sns if case.service == "sns" else _run_events
    assert run(doc_lab, case, index) == case.expected, case.source


@pytest.mark.parametrize(("index", "case"), _params())
def test_documented_outcome_through_the_explainer(index: int, case: DocCase) -> None:
    """The explainer alone (no service) states the documented outcome, with reasons if dropped."""
    if case.expected == "invalid":
        error = (
            matching.InvalidFilterPolicy if case.service == "sns" else matching.InvalidEventPattern
        )
        with pytest.raises(error) as raised:
            if case.service == "sns":
                matching.validate_filter_policy(case.pattern, case.scope)
            else:
                matching.validate_pattern(case.pattern)
        assert raised.value.aws_message and raised.value.hint
        return
    if case.service == "sns":
        verdict = matching.explain_filter(
            case.pattern, scope=case.scope, body=case.body, attributes=case.attributes
        )
    else:
        event = {"version": "0", "account": "123456789012", "region": "us-east-1", **case.event}
        verdict = matching.explain_pattern(case.pattern, event)
    assert verdict.matched == (case.expected == "delivered"), (case.source, str(verdict))
    assert verdict.reasons
    if not verdict.matched:
        # a learner sentence names the key that failed
        keys = json.dumps(case.pattern)
        assert any(f'"{key}"' in " ".join(verdict.reasons) for key in _leaf_keys(case.pattern)), (
            keys,
            verdict.reasons,
        )


def _leaf_keys(pattern: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, value in pattern.items():
        if isinstance(value, dict):
            keys |= {f"{key}.{k}" for k in _leaf_keys(value)} | _leaf_keys(value)
        elif key == "$or":
            for branch in value:
                keys |= _leaf_keys(branch)
        else:
            keys.add(key)
    return keys


def test_the_documentation_cases_cover_every_operator_and_both_scopes() -> None:
    text = json.dumps([c.pattern for c in CASES])
    for operator in matching.OPERATORS + ("$or",):
        assert f'"{operator}"' in text, operator
    assert {c.scope for c in CASES if c.service == "sns"} == set(matching.SCOPES)
    assert {c.expected for c in CASES} == {"delivered", "dropped", "invalid"}
    assert len(CASES) >= 60
    assert all(c.source.startswith("https://") for c in CASES)
