"""labkit.lessons.capstone: the ledger adds up (and notices when it does not), and the pattern table
lists only the patterns a run used, with evidence read from its trace."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import labkit
from labkit.errors import LabError
from labkit.lessons.capstone import executions, ledger, pattern_table, patterns
from labkit.lessons.pubsub import subscriber_queue
from labkit.local.functions import Faults
from tests.scenarios import create_table, state_machine, update_item_task


@pytest.fixture
def lab() -> Iterator[labkit.Lab]:
    lab = labkit.start_lab()
    yield lab
    lab.stop()


def _fan_out(lab: labkit.Lab, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = {}
    for name in names:
        url, arn = subscriber_queue(lab, name, topic, dead_letter_after=2)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls[name] = url
    assert sqs is not None
    return topic, urls


def _publish(lab: labkit.Lab, topic: str, bodies: list[str]) -> None:
    with lab.tracer.acting_as("shop"):
        for body in bodies:
            lab.client("sns").publish(TopicArn=topic, Message=body)


def test_ledger_counts_processed_waiting_and_dead(lab: labkit.Lab) -> None:
    topic, urls = _fan_out(lab, ("billing", "warehouse"))

    def billing(event, context):  # noqa: ANN001, ANN202
        for record in event["Records"]:
            if json.loads(json.loads(record["body"])["Message"])["amount"] < 0:
                raise ValueError("negative amount")

    lab.functions.deploy("billing-worker", billing).consume(urls["billing"], batch_size=1)
    _publish(lab, topic, [json.dumps({"amount": a}) for a in (5, -1, 7)])
    lab.functions.run_until_idle()
    book = ledger(lab, ["billing", "warehouse"])
    assert book["billing"].arrived == 3
    assert book["billing"].processed == 2
    assert book["billing"].dead_lettered == 1
    assert book["billing"].waiting == 0
    assert book["warehouse"].waiting == 3  # nobody consumes it
    assert book.ok
    assert "| billing | 3 | 2 | 0 | 1 | yes |" in book._repr_markdown_()


def test_ledger_notices_a_message_gone_missing(lab: labkit.Lab) -> None:
    topic, urls = _fan_out(lab, ("billing",))
    _publish(lab, topic, ["{}", "{}"])
    sqs = lab.client("sqs")
    with lab.tracer.paused():  # a delete the trace never saw: the ledger cannot account for it
        message = sqs.receive_message(QueueUrl=urls["billing"])["Messages"][0]
        sqs.delete_message(QueueUrl=urls["billing"], ReceiptHandle=message["ReceiptHandle"])
    book = ledger(lab, ["billing"])
    assert (book["billing"].arrived, book["billing"].waiting) == (2, 1)
    assert not book.ok
    assert "NO" in str(book)


def test_ledger_rejects_unknown_queues(lab: labkit.Lab) -> None:
    with pytest.raises(LabError, match="queue"):
        ledger(lab, ["nowhere"])
    topic, _ = _fan_out(lab, ("billing",))
    with pytest.raises(LabError, match="billing"):
        ledger(lab, ["billing"])["warehouse"]


def test_one_subscriber_is_not_pub_sub(lab: labkit.Lab) -> None:
    topic, _ = _fan_out(lab, ("billing",))
    _publish(lab, topic, ["{}"])
    assert [p.pattern for p in patterns(lab)] == []
    assert pattern_table(lab).rows == ()


def test_pub_sub_and_decoupling_from_an_outage(lab: labkit.Lab) -> None:
    topic, urls = _fan_out(lab, ("billing", "warehouse"))
    for name, url in urls.items():
        faults = Faults(outages=[(0, 20)]) if name == "warehouse" else None
        lab.functions.deploy(
            f"{name}-worker", lambda e, c: None, duration=1.0, faults=faults
        ).consume(url, batch_size=1)
    _publish(lab, topic, ["{}"] * 4)
    lab.functions.run_until_idle()
    found = {p.pattern: p for p in patterns(lab)}
    assert set(found) == {"Pub/sub", "Decoupling"}
    assert "2 receivers (billing, warehouse)" in found["Pub/sub"].evidence
    assert "the publisher shop only ever addressed the topic orders" in found["Pub/sub"].evidence
    assert "of warehouse waited out consumer failures" in found["Decoupling"].evidence
    assert "billing waited" not in found["Decoupling"].evidence
    assert found["Decoupling"].implemented_with.startswith("SQS (billing, warehouse)")
    table = pattern_table(lab, evidence=False)
    assert table.header == ("pattern", "what it solves", "implemented with (in this run)")
    assert [row[0] for row in table.rows] == ["Pub/sub", "Decoupling"]


def _machine(lab: labkit.Lab) -> str:
    ddb = lab.client("dynamodb")
    create_table(lab, "stock", "sku")
    ddb.put_item(TableName="stock", Item={"sku": {"S": "lamp"}, "n": {"N": "1"}})

    lamp = {"sku": {"S": "lamp"}}
    one = {":one": {"N": "1"}}

    def take(next_state: str) -> dict:
        return {
            **update_item_task(
                "stock",
                lamp,
                UpdateExpression="SET n = n - :one",
                ConditionExpression="n >= :one",
                ExpressionAttributeValues=one,
            ),
            "Next": next_state,
        }

    put_back = update_item_task(
        "stock", lamp, UpdateExpression="SET n = n + :one", ExpressionAttributeValues=one
    )
    definition = {
        "StartAt": "First",
        "States": {
            "First": take("Second"),
            "Second": {
                **take("Done"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "PutBack"}],
            },
            "Done": {"Type": "Succeed"},
            "PutBack": {**put_back, "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "NoStock"},
        },
    }
    return state_machine(lab, "two-lamps", definition)


def test_saga_evidence_needs_a_compensation(lab: labkit.Lab) -> None:
    from labkit.lessons.saga import run_executions

    machine = _machine(lab)
    sfn = lab.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name="run-1", input="{}")["executionArn"]
    assert run_executions(lab, arn) == {arn: "FAILED"}
    assert executions(labkit.flow(lab)) == (arn,)
    (saga,) = patterns(lab)
    assert saga.pattern == "Saga"
    assert saga.evidence == "1 of 1 executions compensated: Second failed → PutBack"
    assert saga.implemented_with == "Step Functions (two-lamps) + DynamoDB (stock)"
