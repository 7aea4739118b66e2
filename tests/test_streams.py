"""DynamoDB stream event source mappings in the local function runtime: Lambda's rules for
streams (in order, a failed batch blocks its shard, retries, bisect, on-failure destination),
on the lab's clock, on both mocked backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

import labkit
from labkit.errors import LabError
from labkit.lessons.inbox import take_bodies
from tests.conftest import assert_explained
from tests.scenarios import queue_arn


def stream_table(lab: labkit.Lab, name: str = "orders") -> str:
    """A table keyed by `pk` with a NEW_IMAGE stream; its stream's ARN."""
    answer = lab.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(answer["TableDescription"]["LatestStreamArn"])


def put(lab: labkit.Lab, *keys: str, table: str = "orders") -> None:
    for key in keys:
        lab.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}})


def keys(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["NewImage"]["pk"]["S"] for r in event["Records"]]


def test_a_boto3_mapping_reads_the_stream_from_where_it_starts(lab: labkit.Lab) -> None:
    arn = stream_table(lab)
    put(lab, "before")
    events: list[dict[str, Any]] = []
    lab.functions.deploy("publisher", lambda event, context: events.append(event))
    lam = lab.client("lambda")
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="publisher", StartingPosition="LATEST", BatchSize=2
    )
    lab.client("dynamodb").transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "order#1"}}}},
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "event#1"}}}},
        ]
    )
    put(lab, "order#2")
    result = lab.functions.run_until_idle()
    # LATEST: only what was written after the mapping, in order, two records a batch
    assert [keys(e) for e in events] == [["order#1", "event#1"], ["order#2"]]
    assert result.processed == 3 and result.failed == 0
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"
    assert record["eventSourceARN"] == arn and record["awsRegion"] == lab.region
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    # TRIM_HORIZON: from the oldest record the stream holds
    seen: list[str] = []
    lab.functions.deploy("replayer", lambda event, context: seen.extend(keys(event)))
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="replayer", StartingPosition="TRIM_HORIZON"
    )
    lab.functions.run_until_idle()
    assert seen == ["before", "order#1", "event#1", "order#2"]


def test_a_failing_batch_blocks_the_shard_bisects_and_goes_to_the_destination(
    lab: labkit.Lab,
) -> None:
    arn = stream_table(lab)
    dlq = lab.client("sqs").create_queue(QueueName="publisher-failed")["QueueUrl"]
    published: list[str] = []

    def publisher(event: dict[str, Any], context: Any) -> None:
        if "poison" in keys(event):
            raise ValueError("cannot publish poison")
        published.extend(keys(event))

    lab.functions.deploy("publisher", publisher)
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="publisher",
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumRetryAttempts=1,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(lab, dlq)}},
    )
    put(lab, "a", "b", "poison", "c", "d")
    result = lab.functions.run_until_idle()
    # the shard keeps its order: c waits behind the poison record until it is given up
    assert published == ["a", "b", "c", "d"]
    trail = [(i.time, len(i.message_ids), i.outcome) for i in result.invocations]
    assert trail == [
        (0.0, 4, "error"),  # a b poison c
        (0.25, 2, "ok"),  # a b   (bisected: no retry spent)
        (0.25, 2, "error"),  # poison c
        (0.5, 1, "error"),  # poison  (bisected again)
        (0.75, 1, "error"),  # poison, its one retry
        (0.75, 1, "ok"),  # c
        (0.75, 1, "ok"),  # d, the next batch
    ]
    (document,) = take_bodies(lab, dlq)
    info = document["DDBStreamBatchInfo"]
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 4
    assert info["batchSize"] == 1 and info["streamArn"] == arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == result.dead_lettered[0]
    assert "Records" not in document  # the records stay in the stream


def test_without_bisect_the_whole_batch_is_given_up(embedded_lab: labkit.Lab) -> None:
    arn = stream_table(embedded_lab)
    fn = embedded_lab.functions.deploy("publisher", lambda event, context: 1 / 0)
    embedded_lab.functions.connect_stream(
        arn, fn, starting_position="TRIM_HORIZON", batch_size=3, max_retries=2
    )
    put(embedded_lab, "a", "b", "c", "d")
    result = embedded_lab.functions.run_until_idle()
    # three tries of [a b c] (one and two retries), then three of [d]
    assert [len(i.message_ids) for i in result.invocations] == [3, 3, 3, 1, 1, 1]
    assert result.retried == 4 and len(result.discarded) == 4 and not result.dead_lettered


def test_a_partial_batch_response_retries_from_the_first_failed_record(
    embedded_lab: labkit.Lab,
) -> None:
    arn = stream_table(embedded_lab)
    batches: list[list[str]] = []
    tries = {"b": 0}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append(keys(event))
        for record in event["Records"]:
            if record["dynamodb"]["NewImage"]["pk"]["S"] == "b" and tries["b"] < 1:
                tries["b"] += 1
                failed = record["dynamodb"]["SequenceNumber"]
                return {"batchItemFailures": [{"itemIdentifier": failed}]}
        return {"batchItemFailures": []}

    fn = embedded_lab.functions.deploy("publisher", handler)
    embedded_lab.functions.connect_stream(
        arn, fn, starting_position="TRIM_HORIZON", report_failures=True
    )
    put(embedded_lab, "a", "b", "c")
    embedded_lab.functions.run_until_idle()
    assert batches == [["a", "b", "c"], ["b", "c"]]


def test_stream_mapping_mistakes_are_explained(embedded_lab: labkit.Lab) -> None:
    arn = stream_table(embedded_lab)
    fn = embedded_lab.functions.deploy("publisher", lambda event, context: None)
    runtime = embedded_lab.functions
    cases: list[tuple[dict[str, Any], str]] = [
        ({"starting_position": "OLDEST"}, "TRIM_HORIZON or LATEST"),
        ({"starting_position": "LATEST", "batch_size": 0}, "BatchSize between 1"),
        ({"starting_position": "LATEST", "max_retries": -2}, "MaximumRetryAttempts"),
        ({"starting_position": "LATEST", "on_failure": "https://q/1/x"}, "standard SQS queue"),
    ]
    for options, fragment in cases:
        with pytest.raises(LabError) as error:
            runtime.connect_stream(arn, fn, **options)
        assert_explained(error.value, fragment)
    with pytest.raises(LabError) as error:
        runtime.connect_stream(arn.split("/stream/")[0], fn, starting_position="LATEST")
    assert_explained(error.value, "LatestStreamArn")
    assert runtime.stream_mappings == ()


def test_reset_and_redeploy_keep_the_runtime_consistent(embedded_lab: labkit.Lab) -> None:
    arn = stream_table(embedded_lab)
    old = embedded_lab.functions.deploy("publisher", lambda event, context: 1 / 0)
    embedded_lab.functions.connect_stream(arn, old, starting_position="TRIM_HORIZON")
    seen: list[str] = []
    embedded_lab.functions.deploy("publisher", lambda event, context: seen.extend(keys(event)))
    put(embedded_lab, "a")
    embedded_lab.functions.run_until_idle()
    assert seen == ["a"]  # the mapping follows the new handler
    embedded_lab.reset()
    assert embedded_lab.functions.stream_mappings == ()


def test_the_stream_keeps_its_records_when_a_mapping_exists(embedded_lab: labkit.Lab) -> None:
    # stock moto invokes the function inside the write (through Docker) and then empties the
    # stream; with the lab's change the records stay for every reader
    arn = stream_table(embedded_lab)
    embedded_lab.functions.deploy("publisher", lambda event, context: None)
    embedded_lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="publisher", StartingPosition="LATEST"
    )
    put(embedded_lab, "a", "b")
    streams = embedded_lab.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in records] == ["a", "b"]
    assert json.dumps(records, default=str).count("INSERT") == 2


def test_a_cancelled_transaction_leaves_the_stream_readable(lab: labkit.Lab) -> None:
    # moto swaps the tables for copies when a transaction is cancelled; the lab keeps them
    arn = stream_table(lab)
    seen: list[str] = []
    lab.functions.deploy("publisher", lambda event, context: seen.extend(keys(event)))
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="publisher", StartingPosition="TRIM_HORIZON"
    )
    ddb = lab.client("dynamodb")
    put(lab, "a")

    def transaction(key: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": "orders",
                "Item": {"pk": {"S": key}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[transaction("b"), transaction("a")])
    put(lab, "c")
    lab.functions.run_until_idle()
    assert seen == ["a", "c"]  # nothing of the cancelled transaction, and what came after it
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["a", "c"]


def test_the_stream_plot_draws_each_batch_over_its_records(embedded_lab: labkit.Lab) -> None:
    from labkit.plots import plot_stream_batches, stream_batches

    arn = stream_table(embedded_lab)

    def publisher(event: dict[str, Any], context: Any) -> None:
        if "poison" in keys(event):
            raise ValueError("poison")

    fn = embedded_lab.functions.deploy("publisher", publisher)
    embedded_lab.functions.connect_stream(
        arn, fn, starting_position="TRIM_HORIZON", batch_size=4, max_retries=0, bisect=True
    )
    put(embedded_lab, "a", "poison", "b")
    run = embedded_lab.functions.run_until_idle()
    bars, rows = stream_batches(run)
    assert len(rows) == 3 and rows == tuple(sorted(rows))
    assert [(b.time, b.first, b.last, b.ok) for b in bars] == [
        (0.0, 1, 3, False),  # a poison b
        (0.25, 1, 1, True),  # a
        (0.25, 2, 3, False),  # poison b
        (0.5, 2, 2, False),  # poison, given up (no retries)
        (0.5, 3, 3, True),  # b
    ]
    ax = plot_stream_batches(
        run, given_up=run.discarded, labels=dict(zip(rows, "apb", strict=True))
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "p", "b"]
    assert len(ax.lines) == len(bars)
    (crosses,) = ax.collections
    assert [tuple(p) for p in crosses.get_offsets()][0][1] == 2  # the poison row
    with pytest.raises(LabError, match="DynamoDB stream mapping"):
        plot_stream_batches([])


def test_a_stream_mapping_needs_its_starting_position(lab: labkit.Lab) -> None:
    # required for DynamoDB streams (services-ddb-params); moto would pick TRIM_HORIZON
    arn = stream_table(lab)
    lab.functions.deploy("publisher", lambda event, context: None)
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="StartingPosition"):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="publisher")
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
