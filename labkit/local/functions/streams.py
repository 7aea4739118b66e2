"""The DynamoDB stream event source mapping: a table's stream feeding a function, by Lambda's rules.

Lambda reads each shard of the stream in order, four times a second, and invokes the function
with batches of up to ``BatchSize`` records (100 by default). A batch that fails is retried
whole and the shard waits: nothing after it is read until it succeeds or is given up, when
``MaximumRetryAttempts`` retries are spent (-1, the default: until the record expires, after the
stream's 24 hours). ``BisectBatchOnFunctionError`` splits a failed batch in two, which spends no
retry. A batch given up is skipped; with an on-failure destination (a standard SQS queue or SNS
topic) Lambda sends it a JSON document describing the batch, not its records. With
``ReportBatchItemFailures`` the function names the first record that failed and Lambda retries
from there.
(https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html)

Where the lab differs: AWS does not document how long Lambda waits before it retries a batch;
here the retry comes at the next poll, a quarter of a second later. Records do not expire
(``MaximumRecordAgeInSeconds`` is not applied) and a table's stream has one shard.
``FilterCriteria``, ``ParallelizationFactor``, ``MaximumBatchingWindowInSeconds`` and
``TumblingWindowInSeconds`` are kept by moto's Lambda but not applied here.

The stream is read with the ordinary DynamoDB Streams API (``DescribeStream``,
``GetShardIterator``, ``GetRecords``), so the mapping works on every backend that serves it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import KW_ONLY, InitVar, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.local.functions.events import batch_failures
from labkit.local.functions.invocation import Delivery, Invoked, invoke
from labkit.local.functions.shared import TICK

if TYPE_CHECKING:
    from labkit.local.functions.function import Function
    from labkit.local.functions.shared import Shared
    from labkit.parts import Clients

__all__ = [
    "POLL_INTERVAL",
    "STARTING_POSITIONS",
    "StreamMapping",
    "check_stream_settings",
    "stream_record",
]

#: Lambda polls each shard of a DynamoDB stream four times a second.
POLL_INTERVAL = 0.25
#: The most records one GetRecords returns.
GET_RECORDS_MAX = 1000
#: Lambda's largest batch for a DynamoDB stream.
MAX_BATCH = 10_000
MAX_RETRIES = 10_000
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")


@dataclass
class Batch:
    """Records waiting to be processed in order: the retries they spent, when to try next."""

    records: list[dict[str, Any]]
    arrived: list[float]
    retries: int = 0
    invocations: int = 0
    retry_at: float = 0.0
    last_request: str = ""
    errors: list[str] = field(default_factory=list)


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda sends for one stream record (as boto3's GetRecords parses it).

    >>> raw = {"eventID": "1", "eventName": "INSERT", "eventVersion": "1.1",
    ...        "eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "7",
    ...        "ApproximateCreationDateTime": dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)}}
    >>> out = stream_record(raw, "arn:aws:dynamodb:us-east-1:1:table/t/stream/x", "us-east-1")
    >>> out["eventSourceARN"][-8:], out["dynamodb"]["ApproximateCreationDateTime"]
    ('stream/x', 1767571200.0)
    """
    change = dict(record.get("dynamodb", {}))
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        # Lambda's event carries epoch seconds where GetRecords answers a date
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def check_stream_settings(
    starting_position: str | None, batch_size: int, max_retries: int, on_failure: str
) -> None:
    """Refuse what Lambda refuses for a DynamoDB stream mapping, saying why."""
    if starting_position not in STARTING_POSITIONS:
        raise LabError(
            "StartingPosition TRIM_HORIZON or LATEST (required for a DynamoDB stream)",
            repr(starting_position),
            "TRIM_HORIZON reads the stream from its oldest record, LATEST only what is written "
            "after the mapping exists",
        )
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise LabError(
            f"BatchSize between 1 and {MAX_BATCH:,}",
            repr(batch_size),
            "the default for a DynamoDB stream is 100",
        )
    if not isinstance(max_retries, int) or not -1 <= max_retries <= MAX_RETRIES:
        raise LabError(
            f"MaximumRetryAttempts between 0 and {MAX_RETRIES:,}, or -1 (until the record expires)",
            repr(max_retries),
            "pass MaximumRetryAttempts=2, for instance, so a bad record stops blocking the shard",
        )
    if (
        on_failure
        and not (on_failure.startswith("arn:aws:sqs:") or on_failure.startswith("arn:aws:sns:"))
        or on_failure.endswith(".fifo")
    ):
        raise LabError(
            "an on-failure destination that is a standard SQS queue's or SNS topic's ARN",
            repr(on_failure),
            'DestinationConfig={"OnFailure": {"Destination": queue_arn}} with the ARN that '
            "get_queue_attributes(..., AttributeNames=['QueueArn']) answers",
        )


@dataclass(eq=False)
class StreamMapping:
    """A DynamoDB stream feeding a function: labkit's poller, with Lambda's rules for streams."""

    function: Function
    stream_arn: str
    _: KW_ONLY
    starting_position: str
    batch_size: int
    max_retries: int
    bisect: bool
    on_failure: str
    report_failures: bool
    uuid: str
    shared: InitVar[Shared]
    clients: InitVar[Clients]
    wall: InitVar[Callable[[], dt.datetime]]
    elapsed: InitVar[Callable[[], float]]
    enabled: bool = field(default=True, init=False)

    def __post_init__(
        self,
        shared: Shared,
        clients: Clients,
        wall: Callable[[], dt.datetime],
        elapsed: Callable[[], float],
    ) -> None:
        self._shared = shared
        self._clients = clients
        self._wall = wall
        self._elapsed = elapsed
        self._iterators: dict[str, str] = {}
        self._shard = ""
        self._waiting: list[tuple[dict[str, Any], float]] = []  # read, not yet in a batch
        self._batches: list[Batch] = []  # in shard order: the first is the one being worked on
        self._working = False
        self._drained_at: float | None = None
        self._open_shards()

    def __repr__(self) -> str:
        table = self.stream_arn.split("/")[1] if "/" in self.stream_arn else self.stream_arn
        return (
            f"<StreamMapping {table} stream -> {self.function.name} batch={self.batch_size} "
            f"retries={self.max_retries} bisect={self.bisect}>"
        )

    @property
    def table_name(self) -> str:
        return self.stream_arn.split("/")[1]

    # -- what the runtime's event loop uses (the same as an SQS mapping) ----------------------
    def refresh(self) -> None:
        """Nothing to read again: a stream mapping's settings are its own."""

    def poll_again(self) -> None:
        """Read the stream at the next step, even if it was empty when last read."""
        self._drained_at = None

    def poll(self, now: float) -> bool:
        """Read what is new, invoke the next batch when the shard is free; True if anything
        moved."""
        if not self.enabled or self._working or self.function.free_worker(now) is None:
            return False
        progress = self._read(now)
        if not self._batches and self._waiting:
            taken = self._waiting[: self.batch_size]
            del self._waiting[: self.batch_size]
            self._batches.append(Batch([r for r, _ in taken], [at for _, at in taken]))
        if not self._batches or self._batches[0].retry_at > now + TICK:
            return progress
        self._invoke(self._batches[0], now)
        return True

    def wake_times(self, now: float) -> list[float]:
        """The lab times this mapping knows it has something to do at."""
        if not self.enabled or self._working:
            return []
        times = [max(now, self.function.free_at())] if self._waiting else []
        if self._batches:
            times.append(max(self._batches[0].retry_at, self.function.free_at()))
        if self._drained_at is None or self._drained_at + TICK < now:
            times.append(max(now, self.function.free_at()))
        return times

    def clear(self) -> None:
        self._batches.clear()
        self._waiting.clear()

    # -- reading the stream ----------------------------------------------------------------
    def _streams(self) -> Any:
        return self._clients.client("dynamodbstreams")

    def _open_shards(self) -> None:
        streams = self._streams()
        described = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in described.get("Shards", []):
            shard_id = shard["ShardId"]
            self._iterators[shard_id] = streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType=self.starting_position,
            )["ShardIterator"]

    def _read(self, now: float) -> bool:
        """GetRecords on every shard, once per lab instant unless told to read again."""
        if self._drained_at is not None and self._drained_at + TICK >= now:
            return False
        streams, region = self._streams(), self._clients.region
        found = False
        for shard_id, iterator in list(self._iterators.items()):
            answer = streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_MAX)
            self._iterators[shard_id] = answer.get("NextShardIterator") or iterator
            self._shard = shard_id
            for record in answer.get("Records", []):
                self._waiting.append((stream_record(record, self.stream_arn, region), now))
                found = True
        self._drained_at = now
        return found

    # -- a batch's life ----------------------------------------------------------------------
    def _invoke(self, batch: Batch, now: float) -> None:
        shared = self._shared
        ids = tuple(r["dynamodb"].get("SequenceNumber", r["eventID"]) for r in batch.records)
        if batch.invocations:
            shared.ledger.count_retry()
        batch.invocations += 1
        invoked = invoke(
            self.function,
            {"Records": [json.loads(json.dumps(r)) for r in batch.records]},
            now,
            Delivery("dynamodb", self.stream_arn, ids, attempt=batch.invocations),
            ledger=shared.ledger,
            read_answer=partial(batch_failures, ids=ids) if self.report_failures else None,
        )
        batch.last_request = invoked.request_id
        self._working = True

        def finish() -> None:
            self._working = False
            self._finish(batch, invoked, now + invoked.took)

        if invoked.took > 0:
            shared.agenda.later(now + invoked.took, finish)
        else:
            finish()

    def _finish(self, batch: Batch, invoked: Invoked, now: float) -> None:
        if not invoked.failed:
            self._batches.remove(batch)
            self._drained_at = None
            return
        batch.errors.append(invoked.error or "reported in batchItemFailures")
        index = self._batches.index(batch)
        ids = [r["dynamodb"].get("SequenceNumber", r["eventID"]) for r in batch.records]
        if self.report_failures and invoked.outcome == "partial":
            # checkpoint before the lowest failed sequence number: retry from there on
            first = min(ids.index(i) for i in invoked.failed)
            batch.records, batch.arrived = batch.records[first:], batch.arrived[first:]
            batch.retries += 1
        elif self.bisect and len(batch.records) > 1:
            half = len(batch.records) // 2
            halves = [
                Batch(batch.records[:half], batch.arrived[:half], batch.retries, batch.invocations),
                Batch(batch.records[half:], batch.arrived[half:], batch.retries, batch.invocations),
            ]
            self._batches[index : index + 1] = halves
            for part in halves:
                part.retry_at = round(now + POLL_INTERVAL, 6)
            return
        else:
            batch.retries += 1
        if 0 <= self.max_retries < batch.retries:
            self._batches.remove(batch)
            self._give_up(batch)
            self._drained_at = None
            return
        batch.retry_at = round(now + POLL_INTERVAL, 6)

    def _give_up(self, batch: Batch) -> None:
        """Skip the batch; tell the on-failure destination what was skipped (not the records)."""
        ids = [r["dynamodb"].get("SequenceNumber", "") for r in batch.records]
        for sequence in ids:
            if self.on_failure:
                self._shared.ledger.dead_lettered(sequence)
            else:
                self._shared.ledger.discarded(sequence)
        if not self.on_failure:
            return
        document = self.invocation_record(batch)
        body = json.dumps(document)
        if ":sqs:" in self.on_failure:
            url = self._shared.resources.queue_url(self.on_failure)
            self._shared.queues.send(url, body, {}, caller=self.function.name)
        else:
            with self._shared.hops.acting_as(self.function.name):
                self._clients.client("sns").publish(TopicArn=self.on_failure, Message=body)

    def invocation_record(self, batch: Batch) -> dict[str, Any]:
        """The document Lambda sends an on-failure destination for a batch it gave up."""

        def iso(at: float) -> str:
            when = self._wall() - dt.timedelta(seconds=max(self._elapsed() - at, 0.0))
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")

        sequences = [r["dynamodb"].get("SequenceNumber", "") for r in batch.records]
        return {
            "requestContext": {
                "requestId": batch.last_request,
                "functionArn": self.function.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": batch.invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso_millis(self._wall()),
            "DDBStreamBatchInfo": {
                "shardId": self._shard,
                "startSequenceNumber": sequences[0],
                "endSequenceNumber": sequences[-1],
                "approximateArrivalOfFirstRecord": iso(batch.arrived[0]),
                "approximateArrivalOfLastRecord": iso(batch.arrived[-1]),
                "batchSize": len(batch.records),
                "streamArn": self.stream_arn,
            },
        }


def _iso_millis(when: dt.datetime) -> str:
    """A UTC time as Lambda writes it in an invocation record.

    >>> _iso_millis(dt.datetime(2019, 11, 14, 0, 13, 49, 717000))
    '2019-11-14T00:13:49.717Z'
    """
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
