"""The Terraform export: complete, portable, current, formatted as ``terraform fmt`` leaves it, and
checked (parsed back, every reference declared, checkov clean or skipped with a reason).

The topologies are the ones the lessons build (queues and dead-letter queues; fan-out with
filters and FIFO; buses, rules and every target kind; publishers and consumers; a saga) and a lab
built the way a learner would, all exported from one lab reset between them; checkov runs once
over all of them and the capstone's folder.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

import labkit
from labkit import Faults
from labkit.lessons import key_table, subscriber_queue
from labkit.tools.terraform import Export, build, fmt, resources, write
from labkit.tools.terraform.handlers import extract
from tests.scenarios import create_table, queue_arn, queue_with_dlq, state_machine

ROOT = Path(__file__).resolve().parents[1]
CAPSTONE = ROOT / "notebooks" / "terraform" / "capstone"
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
MOCK_ACCOUNT = "123456789012"
REFERENCE = re.compile(
    r"(?<![\w.\"])((?:data\.)?(?:aws|archive)_[a-z0-9_]+\.[a-z0-9_]+|var\.[a-z0-9_]+)"
    r"(?=\.[a-z_]+|\b)"
)
DECLARED = re.compile(r'^(resource|data) "([^"]+)" "([^"]+)"|^variable "([^"]+)"', re.M)


# -- handlers the topologies deploy (their source is what the export writes out) -------------
billed: list[str] = []
notified = []
RATE = 0.2


def order_total(record: dict[str, Any]) -> float:
    return float(json.loads(record["body"])["total"]) * (1 + RATE)


def bill(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            billed.append(f"{order_total(record):.2f}")
        except (KeyError, ValueError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def notify(event: dict[str, Any], context: Any) -> None:
    notified.append(event.get("detail-type") or event["Records"][0]["Sns"]["Message"])


def stamp_worker(lab: labkit.Lab, queue_url: str) -> Callable[[dict[str, Any], Any], None]:
    sqs = lab.client("sqs")

    def forward(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            sqs.send_message(QueueUrl=queue_url, MessageBody=record["body"])

    return forward


def make_reactor(step: Callable[[dict[str, Any]], float]) -> Callable[[dict[str, Any], Any], Any]:
    def react(event: dict[str, Any], context: Any) -> list[float]:
        return [step(record) for record in event["Records"]]

    return react


class Ledger:
    def add(self, event: dict[str, Any]) -> None: ...


LEDGER = Ledger()


def keep(event: dict[str, Any], context: Any) -> None:
    LEDGER.add(event)


# -- topologies ----------------------------------------------------------------------------
def sqs_lesson(lab: labkit.Lab) -> None:
    """01: a queue with its dead-letter queue, a FIFO queue, tuned attributes."""
    queue_with_dlq(lab, "tickets", max_receives=3, visibility=20)
    lab.client("sqs").create_queue(
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "5"},
    )


def sns_lesson(lab: labkit.Lab) -> None:
    """02: fan-out with a body filter, raw delivery, a FIFO topic, a function subscribed."""
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    for name in ("billing", "shipping"):
        _, arn = subscriber_queue(lab, name, topic)
        body_filter = json.dumps({"region": [{"prefix": "eu-"}]})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
                                  "FilterPolicy": body_filter})  # fmt: skip
    fifo = sns.create_topic(
        Name="payments.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    ledger = lab.client("sqs").create_queue(
        QueueName="ledger.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint=queue_arn(lab, ledger))
    fn = lab.functions.deploy("email", notify, faults=Faults(outages=[(0, 60)]))
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn.arn)


def eventbridge_lesson(lab: labkit.Lab) -> None:
    """03: a custom bus, a schedule, and every target kind (queue with a transformer, topic,
    state machine with a role named but not created, function, another bus)."""
    events, sns = lab.client("events"), lab.client("sns")
    events.create_event_bus(Name="shop")
    events.create_event_bus(Name="analytics")
    url = lab.client("sqs").create_queue(QueueName="big-orders")["QueueUrl"]
    topic = sns.create_topic(Name="big-sales")["TopicArn"]
    machine = state_machine(lab, "risk-review")
    fn = lab.functions.deploy("thank-you", notify)
    events.put_rule(Name="huge-orders", EventBusName="shop", EventPattern=json.dumps(
        {"source": ["shop"], "detail": {"total": [{"numeric": [">=", 1000]}]}}))  # fmt: skip
    analytics = events.describe_event_bus(Name="analytics")["Arn"]
    role = f"arn:aws:iam::{MOCK_ACCOUNT}:role/events-start-review"
    events.put_targets(Rule="huge-orders", EventBusName="shop", Targets=[
        {"Id": "queue", "Arn": queue_arn(lab, url), "InputTransformer": {
            "InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"order": <id>}'}},
        {"Id": "sales", "Arn": topic},
        {"Id": "review", "Arn": machine, "RoleArn": role},
        {"Id": "note", "Arn": fn.arn},
        {"Id": "copy", "Arn": analytics, "RoleArn": role.replace("start-review", "to-analytics")},
    ])  # fmt: skip
    shop = events.describe_event_bus(Name="shop")["Arn"]
    events.create_archive(ArchiveName="orders", EventSourceArn=shop, RetentionDays=7,
                          EventPattern=json.dumps({"source": ["shop"]}))  # fmt: skip
    events.put_rule(Name="morning-report", ScheduleExpression="cron(0 8 * * ? *)")
    events.put_targets(Rule="morning-report", Targets=[{"Id": "q", "Arn": queue_arn(lab, url)}])


def pubsub_lesson(lab: labkit.Lab) -> None:
    """04: SNS and EventBridge publishers, consumers as functions (one cannot be written out)."""
    sns = lab.client("sns")
    topic = sns.create_topic(Name="news")["TopicArn"]
    url, arn = subscriber_queue(lab, "billing", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    lab.functions.deploy("charge", bill).consume(url)
    ledger_url, ledger_arn = subscriber_queue(lab, "ledger", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=ledger_arn)
    lab.functions.deploy("keep", keep).consume(ledger_url)


def decoupling_lesson(lab: labkit.Lab) -> None:
    """05: a queue drained by a function with concurrency, a batching window and a DLQ."""
    url, dlq = queue_with_dlq(lab, "orders", max_receives=3, visibility=5)
    fn = lab.functions.deploy("worker", bill, concurrency=4, timeout=4, duration=0.5)
    fn.consume(url, batch_size=5, window=2, report_failures=True)


def lambda_consumers_lesson(lab: labkit.Lab) -> None:
    """08: a mapping made with boto3: batch size, window, partial batch responses and a maximum
    concurrency of its own, below the function's."""
    url, _ = queue_with_dlq(lab, "orders", max_receives=5, visibility=60)
    lab.functions.deploy("billing", bill, concurrency=10, timeout=10, duration=1.0)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn(lab, url),
        FunctionName="billing",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 2},
    )  # not run: the export follows the mapping Lambda holds


def saga_lesson(lab: labkit.Lab) -> None:
    """06: tables, a state machine waiting on task tokens, telling the bus, and workers."""
    for name in ("orders", "accounts"):
        create_table(lab, name, "order_id")
    events = lab.client("events")
    events.create_event_bus(Name="shop")
    payments = lab.client("sqs").create_queue(QueueName="payments")["QueueUrl"]
    definition = {
        "StartAt": "Lock",
        "States": {
            "Lock": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                     "Parameters": {"TableName": "orders", "Item": {"order_id": {"S.$": "$.id"}}},
                     "Next": "Pay"},
            "Pay": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": payments,
                                   "MessageBody": {"token.$": "$$.Task.Token"}},
                    "Next": "Tell"},
            "Tell": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                     "Parameters": {"Entries": [{"EventBusName": "shop", "Source": "saga",
                                                 "DetailType": "Paid", "Detail.$": "$"}]},
                     "End": True},
        },
    }  # fmt: skip
    state_machine(lab, "purchase", definition)
    results = lab.client("sqs").create_queue(QueueName="results")["QueueUrl"]
    lab.functions.deploy("payments-worker", stamp_worker(lab, results)).consume(
        payments, batch_size=1
    )


def workflows_lesson(lab: labkit.Lab) -> None:
    """10: a retried task, a Map with a limit, branches, and a callback with a heartbeat."""
    create_table(lab, "labels", "order_id")
    approvals = lab.client("sqs").create_queue(QueueName="approvals")["QueueUrl"]
    pack = {"StartAt": "Pack", "States": {"Pack": {"Type": "Wait", "Seconds": 5, "End": True}}}
    definition = {
        "StartAt": "PrintLabel",
        "States": {
            "PrintLabel": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                           "Parameters": {"TableName": "labels",
                                          "Item": {"order_id": {"S.$": "$.order"}}},
                           "ResultPath": None,
                           "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2,
                                      "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}],
                           "Next": "PackParcels"},
            "PackParcels": {"Type": "Map", "ItemsPath": "$.parcels", "MaxConcurrency": 2,
                            "ItemProcessor": pack, "ResultPath": None, "Next": "Both"},
            "Both": {"Type": "Parallel", "ResultPath": None, "Next": "AskClerk",
                     "Branches": [pack, {"StartAt": "Ship", "States": {
                         "Ship": {"Type": "Pass", "End": True}}}]},
            "AskClerk": {"Type": "Task",
                         "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                         "Parameters": {"QueueUrl": approvals,
                                        "MessageBody": {"token.$": "$$.Task.Token"}},
                         "HeartbeatSeconds": 60, "TimeoutSeconds": 3600, "End": True},
        },
    }  # fmt: skip
    state_machine(lab, "fulfil", definition)


def outbox_lesson(lab: labkit.Lab) -> None:
    """09: an outbox table whose stream feeds a publisher (retries, bisect, on-failure queue),
    and an idempotency table whose keys expire (TTL)."""
    ddb, sqs = lab.client("dynamodb"), lab.client("sqs")
    new_images = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    stream = key_table(ddb, "outbox", "event_id", StreamSpecification=new_images)["LatestStreamArn"]
    create_table(lab, "seen", "event_id")
    ddb.update_time_to_live(
        TableName="seen", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    failed = queue_arn(lab, sqs.create_queue(QueueName="outbox-failed")["QueueUrl"])
    lab.functions.deploy("publisher", bill)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=stream, FunctionName="publisher", StartingPosition="TRIM_HORIZON",
        BatchSize=10, MaximumRetryAttempts=3, BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": failed}},
    )  # fmt: skip


def learner_lab(lab: labkit.Lab) -> None:
    """A lab built the way a learner would: every kind the issue lists, through the API."""
    sqs, sns, events, iam = (lab.client(s) for s in ("sqs", "sns", "events", "iam"))
    orders, _ = queue_with_dlq(lab, "orders", max_receives=4)
    topic = sns.create_topic(Name="sales")["TopicArn"]
    sub_dlq = queue_arn(lab, sqs.create_queue(QueueName="sales-dlq")["QueueUrl"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(lab, orders), Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["big"]}),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": sub_dlq})})  # fmt: skip
    events.put_rule(Name="to-topic", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="to-topic", Targets=[{"Id": "t", "Arn": topic}])
    audit = sqs.create_queue(QueueName="audit")["QueueUrl"]
    events.put_rule(Name="to-audit", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="to-audit", Targets=[{
        "Id": "a", "Arn": queue_arn(lab, audit), "DeadLetterConfig": {"Arn": sub_dlq},
        "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 600}},
        {"Id": "b", "Arn": queue_arn(lab, orders),
         "RoleArn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/events-send"}])  # fmt: skip
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "states.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName="checkout-role", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="checkout-role", PolicyName="send", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
        "Resource": queue_arn(lab, audit)}]}))  # fmt: skip
    lab.client("stepfunctions").create_state_machine(
        name="checkout",
        roleArn=role["Role"]["Arn"],
        definition=json.dumps({"StartAt": "Send", "States": {"Send": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": audit, "MessageBody.$": "$"}, "End": True}}}),
    )  # fmt: skip
    fn = lab.functions.deploy("biller", bill, retries=1, dead_letter=sub_dlq)
    fn.consume(orders, batch_size=20, window=3, report_failures=True)
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName=fn.arn,
        MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": sub_dlq}},
    )
    retry = {"healthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 10, "maxDelayTarget": 60}}
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://hooks.example.com/sales",
                  Attributes={"DeliveryPolicy": json.dumps(retry)})  # fmt: skip
    create_table(lab, "invoices", "order_id")


TOPOLOGIES: dict[str, Callable[[labkit.Lab], None]] = {
    "01-sqs": sqs_lesson,
    "02-sns": sns_lesson,
    "03-eventbridge": eventbridge_lesson,
    "04-pubsub": pubsub_lesson,
    "05-decoupling": decoupling_lesson,
    "06-saga": saga_lesson,
    "08-lambda-consumers": lambda_consumers_lesson,
    "10-workflows": workflows_lesson,
    "09-outbox": outbox_lesson,
    "learner": learner_lab,
}


@dataclass(frozen=True)
class Exported:
    name: str
    folder: Path
    export: Export

    @property
    def text(self) -> str:
        return self.export.main_tf


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    root = tmp_path_factory.mktemp("terraform")
    found = {}
    with labkit.Lab() as lab:
        for name, make in TOPOLOGIES.items():
            lab.reset()
            make(lab)
            write(lab, root / name)
            found[name] = Exported(name, root / name, build(lab))
    if CAPSTONE.is_dir():
        shutil.copytree(CAPSTONE, root / "capstone")
        text = (CAPSTONE / "main.tf").read_text()
        handlers = {p.name: p.read_text() for p in (CAPSTONE / "handlers").glob("*.py")}
        found["capstone"] = Exported("capstone", root / "capstone", Export(text, handlers))
    return found


ALL = [*TOPOLOGIES, "capstone"]


def _each(exported: dict[str, Exported], name: str) -> Exported:
    if name not in exported:
        pytest.fail(f"{CAPSTONE} is missing: run `make notebooks NB=07-capstone`")
    return exported[name]


def _blocks(text: str) -> dict[str, dict[str, Any]]:
    parsed = hcl2.loads(text)
    found: dict[str, dict[str, Any]] = {}
    for kind in ("resource", "data"):
        for block in parsed.get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    prefix = "data." if kind == "data" else ""
                    found[f"{prefix}{rtype.strip(chr(34))}.{name.strip(chr(34))}"] = body
    return found


# -- 1. complete ---------------------------------------------------------------------------
def test_the_learners_lab_is_complete(exported: dict[str, Exported]) -> None:
    text = exported["learner"].text
    blocks = _blocks(text)
    expected = {
        "aws_sqs_queue.orders", "aws_sqs_queue.orders_dlq", "aws_sqs_queue.sales_dlq",
        "aws_sqs_queue.audit", "aws_sqs_queue_policy.orders", "aws_sqs_queue_policy.audit",
        "aws_sqs_queue_policy.sales_dlq", "aws_sns_topic.sales", "aws_sns_topic_policy.sales",
        "aws_sns_topic_subscription.sales_to_orders", "aws_cloudwatch_event_rule.to_topic",
        "aws_cloudwatch_event_target.to_topic_t", "aws_cloudwatch_event_rule.to_audit",
        "aws_cloudwatch_event_target.to_audit_a", "aws_sfn_state_machine.checkout",
        "aws_iam_role.checkout_role", "aws_iam_role_policy.checkout_role_send",
        "aws_iam_role.biller_role", "aws_lambda_function.biller",
        "aws_lambda_event_source_mapping.orders_to_biller",
        "aws_lambda_function_event_invoke_config.biller", "data.archive_file.biller",
        "aws_dynamodb_table.invoices",
    }  # fmt: skip
    assert expected <= set(blocks), sorted(expected - set(blocks))
    sub = blocks["aws_sns_topic_subscription.sales_to_orders"]
    assert sub["raw_message_delivery"] is True
    assert "aws_sqs_queue.sales_dlq.arn" in sub["redrive_policy"]
    assert "kind" in sub["filter_policy"]
    # the lab's role already may send to the audit queue: no second policy for it
    assert "aws_iam_role_policy.checkout_role_flow" not in blocks
    target = blocks["aws_cloudwatch_event_target.to_audit_a"]
    assert target["retry_policy"][0]["maximum_retry_attempts"] == 4
    assert target["dead_letter_config"][0]["arn"] == "${aws_sqs_queue.sales_dlq.arn}"
    mapping = blocks["aws_lambda_event_source_mapping.orders_to_biller"]
    assert mapping["batch_size"] == 20 and mapping["maximum_batching_window_in_seconds"] == 3
    assert mapping["function_response_types"] == ['"ReportBatchItemFailures"']
    assert mapping["event_source_arn"] == "${aws_sqs_queue.orders.arn}"
    # AWS checks the role when it creates a mapping or a function with a dead-letter queue:
    # both wait for the role's policies
    queue_policy = "${aws_iam_role_policy_attachment.biller_role_awslambdasqsqueueexecutionrole}"
    assert queue_policy in mapping["depends_on"]
    assert (
        "${aws_iam_role_policy.biller_role_flow}"
        in blocks["aws_lambda_function.biller"]["depends_on"]
    )
    fn = blocks["aws_lambda_function.biller"]
    assert (fn["handler"], fn["runtime"]) == ('"biller.bill"', '"python3.13"')
    assert fn["dead_letter_config"][0]["target_arn"] == "${aws_sqs_queue.sales_dlq.arn}"
    config = blocks["aws_lambda_function_event_invoke_config.biller"]
    assert (config["maximum_retry_attempts"], config["maximum_event_age_in_seconds"]) == (1, 3600)
    on_failure = config["destination_config"][0]["on_failure"][0]["destination"]
    assert on_failure == "${aws_sqs_queue.sales_dlq.arn}"
    (hook,) = [b for k, b in blocks.items() if k.startswith("aws_sns_topic_subscription.sales_to_")
               and "hooks.example.com" in str(b["endpoint"])]  # fmt: skip
    assert "numRetries" in hook["delivery_policy"]
    managed = [
        b["policy_arn"] for k, b in blocks.items() if k.startswith("aws_iam_role_policy_att")
    ]
    assert any(p.endswith('AWSLambdaSQSQueueExecutionRole"') for p in managed)


def test_each_delivery_gets_the_policy_aws_documents(exported: dict[str, Exported]) -> None:
    found = resources(exported["learner"].text)
    queue = found["aws_sqs_queue_policy.orders"]
    assert 'Service = "sns.amazonaws.com"' in queue and "aws_sns_topic.sales.arn" in queue
    # a queue target given a role still gets the queue policy, and the role its permission
    assert "aws_cloudwatch_event_rule.to_audit.arn" in queue
    assert '"sqs:SendMessage"' in found["aws_iam_role_policy.events_send_flow"]
    audit = found["aws_sqs_queue_policy.audit"]
    assert 'Service = "events.amazonaws.com"' in audit
    assert "aws_cloudwatch_event_rule.to_audit.arn" in audit
    # the rule's dead-letter queue and the subscription's share one policy, one statement each
    dlq = found["aws_sqs_queue_policy.sales_dlq"]
    assert "aws_cloudwatch_event_rule.to_audit.arn" in dlq and "aws_sns_topic.sales.arn" in dlq
    topic = found["aws_sns_topic_policy.sales"]
    assert 'Service = "events.amazonaws.com"' in topic and "Condition" not in topic
    role = found["aws_iam_role_policy.biller_role_flow"]
    assert '"sqs:SendMessage"' in role and "aws_sqs_queue.sales_dlq.arn" in role
    # a rule's role names exactly what it starts; a state machine's role what its tasks call
    lesson3 = resources(exported["03-eventbridge"].text)
    review = lesson3["aws_iam_role_policy.events_start_review_flow"]
    assert '"states:StartExecution"' in review and "aws_sfn_state_machine.risk_review" in review
    assert '"events:PutEvents"' in lesson3["aws_iam_role_policy.events_to_analytics_flow"]
    assert "aws_lambda_permission.thank_you_from_huge_orders" in lesson3
    # an archive is exported as such, not as the rule EventBridge makes for it
    assert (
        "bus_name = aws_cloudwatch_event_bus.shop"
        not in lesson3["aws_cloudwatch_event_archive.orders"]
    )
    assert (
        "event_source_arn = aws_cloudwatch_event_bus.shop.arn"
        in lesson3["aws_cloudwatch_event_archive.orders"]
    )
    assert not any("archive" in address for address in lesson3 if "event_rule" in address)
    saga = resources(exported["06-saga"].text)["aws_iam_role_policy.lab_flow"]
    for action, resource in [
        ("dynamodb:PutItem", "aws_dynamodb_table.orders.arn"),
        ("sqs:SendMessage", "aws_sqs_queue.payments.arn"),
        ("events:PutEvents", "aws_cloudwatch_event_bus.shop.arn"),
    ]:
        assert f'"{action}"' in saga and resource in saga, (action, saga)
    sns = resources(exported["02-sns"].text)["aws_lambda_permission.email_from_orders"]
    assert 'principal     = "sns.amazonaws.com"' in sns
    assert 'statement_id  = "FromSnsOrders"' in sns  # unique per function: service and source


def test_definitions_and_handlers_refer_to_resources(exported: dict[str, Exported]) -> None:
    saga = resources(exported["06-saga"].text)["aws_sfn_state_machine.purchase"]
    assert "TableName = aws_dynamodb_table.orders.name" in saga
    assert "QueueUrl = aws_sqs_queue.payments.url" in saga
    assert "EventBusName = aws_cloudwatch_event_bus.shop.name" in saga


def test_a_written_handler_runs_as_lambda_would_run_it(
    exported: dict[str, Exported], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = exported["learner"].folder
    module = runpy.run_path(str(folder / "handlers" / "biller.py"))
    answer = module["bill"](
        {
            "Records": [
                {"messageId": "1", "body": '{"total": 10}'},
                {"messageId": "2", "body": "{}"},
            ]
        },
        None,
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert module["billed"] == ["12.00"]  # the helper and the constant came along
    # a closure over a client and a queue URL: the URL becomes a variable the function is given
    saga = exported["06-saga"]
    source = saga.export.handlers["payments_worker.py"]
    assert 'queue_url = os.environ["QUEUE_URL"]' in source and 'boto3.client("sqs")' in source
    role = resources(saga.text)["aws_iam_role.payments_worker_role"]
    assert "# the handler calls sqs:SendMessage itself" in role
    block = resources(saga.text)["aws_lambda_function.payments_worker"]
    assert "QUEUE_URL = aws_sqs_queue.results.url" in block
    # a handler using an object of the test's own class cannot be written out: the file says so
    keep_block = resources(exported["04-pubsub"].text)["aws_lambda_function.keep"]
    assert "# package the handler keep(event, context) as" in keep_block
    assert "keep.py" not in exported["04-pubsub"].export.handlers


# -- 2 to 4, on every topology -------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_portable_current_and_resolved(exported: dict[str, Exported], name: str) -> None:
    item = _each(exported, name)
    for path in item.folder.rglob("*"):
        if path.is_file():
            content = path.read_text()
            assert MOCK_ACCOUNT not in content, f"{path.name} holds the mock's account id"
            assert "us-east-1" not in content, f"{path.name} holds a region"
    parsed = hcl2.loads(item.text)
    aws = parsed["terraform"][0]["required_providers"][0]["aws"]
    assert (aws["source"], aws["version"]) == ('"hashicorp/aws"', '"~> 6.0"')
    assert "prefix" in str(parsed["variable"])
    declared = {
        f"var.{m[4]}" if m[4] else ("data." if m[1] == "data" else "") + f"{m[2]}.{m[3]}"
        for m in DECLARED.finditer(item.text)
    }
    for reference in REFERENCE.findall(item.text):
        assert reference in declared, f"{reference} is referenced but not declared"
    blocks = _blocks(item.text)
    for address, body in blocks.items():
        if address.startswith("aws_lambda_function."):
            handler = body["handler"].split(".")[0]
            archive = blocks[f"data.archive_file.{address.split('.')[1]}"]
            assert archive["source_file"] == f'"${{path.module}}/handlers/{handler[1:]}.py"'
            assert item.folder.joinpath("handlers", f"{handler[1:]}.py").exists() or (
                f"as\n  # handlers/{handler[1:]}.py" in resources(item.text)[address]
            )


def _fmt_rule_breaks(text: str) -> list[str]:
    """Where `text` breaks terraform fmt's documented rules, in words (empty when it keeps them):
    two spaces per nesting level, "=" aligned one space after the longest name in a run of
    consecutive one-line attributes, one blank line between blocks."""
    problems = []
    if "\n\n\n" in text or not text.endswith("}\n"):
        problems.append("blocks are not separated by exactly one blank line")
    depth = 0
    run: list[str] = []

    def check_run() -> None:
        columns = {line.index(" = ") for line in run}
        widths = {len(line[: line.index(" = ")].rstrip()) for line in run}
        if len(columns) > 1 or (columns and max(widths) != columns.pop()):
            problems.append(f"'=' not aligned one space after the longest name: {run}")
        run.clear()

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', stripped)
        opened = sum(bare.count(c) for c in "{[(") - sum(bare.count(c) for c in "}])")
        level = depth - 1 if opened < 0 else depth
        if stripped and line != "  " * level + stripped:
            problems.append(f"line {number} is not indented two spaces per level: {line!r}")
        depth += (opened > 0) - (opened < 0)
        if re.match(r'\s*("(?:[^"\\]|\\.)*"|[\w-]+) +=( |$)', line) and opened == 0:
            run.append(line)
        elif run:
            check_run()
    if run:
        check_run()
    return problems


@pytest.mark.parametrize("name", ALL)
def test_laid_out_as_terraform_fmt_leaves_it(exported: dict[str, Exported], name: str) -> None:
    text = _each(exported, name).text
    assert _fmt_rule_breaks(text) == []
    assert fmt(text) == text


def test_the_fmt_rule_check_catches_what_fmt_would_change() -> None:
    good = 'resource "a" "b" {\n  name  = "x"\n  delay = 1\n'
    good += "  policy = jsonencode({\n    a = 1\n  })\n}\n"
    assert _fmt_rule_breaks(good) == []
    assert _fmt_rule_breaks(good.replace("name  =", "name =")) != []
    assert (
        _fmt_rule_breaks(good.replace("name  =", "name   =").replace("delay =", "delay  =")) != []
    )
    assert _fmt_rule_breaks(good.replace("    a = 1", "      a = 1")) != []
    assert _fmt_rule_breaks(good + "\n\n" + good) != []


@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform binary is not here")
def test_terraform_fmt_agrees(exported: dict[str, Exported]) -> None:
    root = next(iter(exported.values())).folder.parent
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-recursive", str(root)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_finds_nothing_and_every_skip_says_why(exported: dict[str, Exported]) -> None:
    if not CHECKOV.exists():
        pytest.skip(f"checkov is not installed at {CHECKOV}: run `make checkov`")
    root = next(iter(exported.values())).folder.parent
    for item in exported.values():
        for skip in re.findall(r"checkov:skip=(\S+)", item.text):
            check, _, reason = skip.partition(":")
            assert re.fullmatch(r"CKV2?_AWS_\d+", check), skip
        for line in item.text.splitlines():
            if "checkov:skip=" in line:
                assert len(line.split(":", 2)[2].strip()) > 20, f"a skip without its reason: {line}"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run(
        [str(CHECKOV), "-d", str(root), "--framework", "terraform", "--quiet", "--compact",
         "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert done.stdout.startswith("{"), done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    failed = [
        f"{c['check_id']} {c['resource']} in {c['file_path']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100


def test_a_closure_over_a_function_keeps_the_name_it_calls() -> None:
    module = extract(make_reactor(order_total), lambda text: False)
    namespace: dict[str, Any] = {}
    exec(compile(module.source, "react.py", "exec"), namespace)
    assert "step = order_total" in module.source
    assert namespace["react"]({"Records": [{"body": '{"total": 5}'}]}, None) == [6.0]


def test_the_folder_holds_what_the_lab_holds_now(embedded_lab: labkit.Lab, tmp_path: Path) -> None:
    embedded_lab.functions.deploy("notes", notify)
    first = write(embedded_lab, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in first) == [
        "handlers/notes.py",
        "main.tf",
    ]
    embedded_lab.reset()  # the function is gone: so is its handler
    write(embedded_lab, tmp_path)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["main.tf"]


def test_an_empty_lab_exports_only_the_settings(embedded_lab: labkit.Lab) -> None:
    parsed = hcl2.loads(build(embedded_lab).main_tf)
    assert "resource" not in parsed and "data" not in parsed
    assert parsed["provider"] == [{"aws": {}}] or "aws" in str(parsed["provider"])


def test_a_mapping_keeps_its_own_maximum_concurrency(exported: dict[str, Exported]) -> None:
    (name,) = [
        n
        for n in resources(exported["08-lambda-consumers"].text)
        if n.startswith("aws_lambda_event_source_mapping.")
    ]
    mapping = _blocks(exported["08-lambda-consumers"].text)[name]
    assert mapping["batch_size"] == 10 and mapping["maximum_batching_window_in_seconds"] == 2
    assert mapping["function_response_types"] == ['"ReportBatchItemFailures"']  # hcl2 keeps quotes
    assert [c["maximum_concurrency"] for c in mapping["scaling_config"]] == [2]
