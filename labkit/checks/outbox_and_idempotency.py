"""Checks for lesson 09 (the outbox and idempotency): an order and its event in one transaction,
a stream mapping that cannot block its shard for a day, and a consumer that acts once per event.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from labkit.checks import Passed, expect
from labkit.lessons.inbox import take_bodies

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "EVENTS_QUEUE",
    "FAILED_QUEUE",
    "ORDERS_TABLE",
    "OUTBOX_TABLE",
    "PUBLISHER",
    "SEEN_TABLE",
    "deliveries",
    "idempotent_consumer",
    "outbox_transaction",
    "publisher_mapping",
]

ORDERS_TABLE = "shop-orders"
OUTBOX_TABLE = "shop-outbox"
SEEN_TABLE = "shop-seen"
EVENTS_QUEUE = "shop-events"
FAILED_QUEUE = "shop-publisher-failed"
PUBLISHER = "shop-publisher"
#: what the second order with the same id may be refused with
REFUSALS = ("TransactionCanceledException", "ConditionalCheckFailedException")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
#: a retry limit that gives a poison record up within minutes, not the stream's 24 hours
MOST_RETRIES = 10


def _mentions(item: Mapping[str, Any], text: str) -> bool:
    return text in json.dumps(item, default=str)


def _scan(lab: Lab, table: str) -> list[dict[str, Any]]:
    return list(lab.client("dynamodb").scan(TableName=table).get("Items", []))


def _table(lab: Lab, name: str, how: str) -> dict[str, Any]:
    ddb = lab.client("dynamodb")
    names = ddb.list_tables().get("TableNames", [])
    expect(
        name in names,
        f"a table named {name!r}",
        "tables " + (", ".join(names) or "none"),
        how,
    )
    return dict(ddb.describe_table(TableName=name)["Table"])


def _stream_arn(lab: Lab) -> str:
    table = _table(lab, OUTBOX_TABLE, "run the exercises' setup cell again: it creates it")
    spec = table.get("StreamSpecification") or {}
    expect(
        bool(spec.get("StreamEnabled")) and "NEW" in str(spec.get("StreamViewType", "")),
        f"a stream on {OUTBOX_TABLE!r} carrying the new image of each item",
        f"StreamSpecification {spec or 'none'}",
        "run the setup cell again: it creates the table with StreamSpecification="
        "{'StreamEnabled': True, 'StreamViewType': 'NEW_IMAGE'}",
    )
    return str(table["LatestStreamArn"])


def outbox_transaction(lab: Lab, place_order: Callable[[dict[str, Any]], Any]) -> Passed:
    """Exercise 1: `place_order` writes the order and its event in one TransactWriteItems, and
    refuses a second order with the same id without writing another event."""
    _table(lab, ORDERS_TABLE, "run the exercises' setup cell again: it creates it")
    _stream_arn(lab)
    expect(
        callable(place_order),
        "a function place_order(order)",
        repr(place_order)[:60],
        "define it with def place_order(order): ... and pass the function itself",
    )
    order = {"order_id": "check-1", "total": 42}
    calls_before = len(lab.flow().calls)
    outbox_before = [i for i in _scan(lab, OUTBOX_TABLE) if _mentions(i, "check-1")]
    expect(
        not outbox_before,
        f"no event for order 'check-1' in {OUTBOX_TABLE!r} before the check",
        f"{len(outbox_before)} already",
        "run the exercises' setup cell again for a clean lab, then your answer, then the check",
    )
    try:
        place_order(order)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        expect(
            False,
            "place_order({'order_id': 'check-1', 'total': 42}) to succeed on a new order",
            f"{code}: {error.response.get('Error', {}).get('Message', '')}",
            "look at the transaction's items: each Put needs TableName and Item, attribute "
            'values written as {"S": "..."} or {"N": "42"}',
        )
    writes = [
        c.operation
        for c in lab.flow().calls[calls_before:]
        if c.service == "dynamodb" and c.operation in WRITES
    ]
    expect(
        writes == ["TransactWriteItems"],
        "one TransactWriteItems call writing the order and its event",
        "the writes " + (", ".join(writes) or "none"),
        "two separate writes are the dual write: put both items in one "
        "ddb.transact_write_items(TransactItems=[{'Put': ...}, {'Put': ...}])",
    )
    orders = [i for i in _scan(lab, ORDERS_TABLE) if _mentions(i, "check-1")]
    events = [i for i in _scan(lab, OUTBOX_TABLE) if _mentions(i, "check-1")]
    expect(
        len(orders) == 1 and len(events) == 1,
        f"the order in {ORDERS_TABLE!r} and one event for it in {OUTBOX_TABLE!r}",
        f"{len(orders)} order item(s) and {len(events)} event item(s) mentioning 'check-1'",
        f"one Put into each table: the order into {ORDERS_TABLE!r}, its event (with the order "
        f"id in it) into {OUTBOX_TABLE!r}",
    )
    refused = ""
    try:
        place_order({"order_id": "check-1", "total": 999})
    except ClientError as error:
        refused = str(error.response.get("Error", {}).get("Code", ""))
    events = [i for i in _scan(lab, OUTBOX_TABLE) if _mentions(i, "check-1")]
    expect(
        refused in REFUSALS and len(events) == 1,
        "a second order 'check-1' refused (TransactionCanceledException) and no second event",
        f"{'refused with ' + refused if refused else 'accepted'}, {len(events)} event item(s)",
        "give the order's Put a ConditionExpression: 'attribute_not_exists(order_id)'; the "
        "whole transaction is then cancelled, its event with it",
    )
    return Passed(
        "Exercise 1",
        "the order and its event in one transaction; a repeated order changes nothing",
    )


def publisher_mapping(lab: Lab) -> Passed:
    """Exercise 2: the outbox's stream feeds the publisher from its oldest record, a poison
    record is bisected out, retried a few times and reported to the on-failure queue, and the
    events after it still go out."""
    stream_arn = _stream_arn(lab)
    lam, sqs = lab.client("lambda"), lab.client("sqs")
    found = [
        m
        for m in lam.list_event_source_mappings().get("EventSourceMappings", [])
        if m.get("EventSourceArn") == stream_arn
    ]
    expect(
        len(found) == 1 and found[0].get("FunctionArn", "").endswith(f":function:{PUBLISHER}"),
        f"one event source mapping from {OUTBOX_TABLE!r}'s stream to {PUBLISHER!r}",
        f"{len(found)} mapping(s) on the stream"
        + (f", to {found[0].get('FunctionArn', '').rsplit(':', 1)[-1]}" if found else ""),
        f"lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName={PUBLISHER!r}, "
        "StartingPosition=..., ...); run the setup cell again to start over",
    )
    mapping = found[0]
    expect(
        mapping.get("StartingPosition") == "TRIM_HORIZON",
        "StartingPosition 'TRIM_HORIZON' (the events written before the mapping too)",
        repr(mapping.get("StartingPosition")),
        "LATEST skips what is in the stream already, the events of exercise 1 among them",
    )
    retries = mapping.get("MaximumRetryAttempts")
    expect(
        retries is not None and 0 <= int(retries) <= MOST_RETRIES,
        f"MaximumRetryAttempts between 0 and {MOST_RETRIES}",
        "the default, -1" if retries is None else repr(retries),
        "with -1 Lambda retries a failing batch until its records expire: a poison record "
        "blocks the shard for up to 24 hours; set a few retries",
    )
    expect(
        bool(mapping.get("BisectBatchOnFunctionError")),
        "BisectBatchOnFunctionError True",
        repr(mapping.get("BisectBatchOnFunctionError", False)),
        "without it the whole batch around a poison record is given up with it",
    )
    failed_url = sqs.get_queue_url(QueueName=FAILED_QUEUE)["QueueUrl"]
    failed_arn = sqs.get_queue_attributes(QueueUrl=failed_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    destination = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
        "Destination"
    )
    expect(
        destination == failed_arn,
        f"DestinationConfig OnFailure {FAILED_QUEUE!r}'s ARN",
        repr(destination),
        'DestinationConfig={"OnFailure": {"Destination": failed_arn}} with the QueueArn '
        "get_queue_attributes answers (not the queue's URL)",
    )
    # a poison event between two good ones: the good ones must go out, the poison be reported
    ddb = lab.client("dynamodb")
    for key, detail in (("check/1", '{"ok": 1}'), ("check/2", "{'not': json}"), ("check/3", "{}")):
        ddb.put_item(TableName=OUTBOX_TABLE, Item={"event_id": {"S": key}, "detail": {"S": detail}})
    lab.functions.run_until_idle(max_seconds=600)
    published = {b.get("event_id") for b in take_bodies(lab, _url(lab, EVENTS_QUEUE))}
    reports = take_bodies(lab, failed_url)
    expect(
        {"check/1", "check/3"} <= published and "check/2" not in published,
        "the events before and after the poison one published",
        f"published {sorted(str(p) for p in published)}",
        "run the setup cell again and create the mapping once, with the settings above",
    )
    expect(
        len(reports) == 1 and reports[0].get("DDBStreamBatchInfo", {}).get("batchSize") == 1,
        f"one report in {FAILED_QUEUE!r} about a batch of the poison record alone",
        f"{len(reports)} report(s)",
        "BisectBatchOnFunctionError isolates the poison record before it is given up",
    )
    return Passed(
        "Exercise 2",
        f"from TRIM_HORIZON, {retries} retries, bisected; the poison record reported, "
        "the events after it published",
    )


def _url(lab: Lab, name: str) -> str:
    return str(lab.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def deliveries() -> list[dict[str, Any]]:
    """EventBridge events as a consumer gets them: order c-1 three times (three PutEvents, so
    three EventBridge ids), c-2 once, c-3 twice.

    >>> [d["detail"]["event_id"] for d in deliveries()]
    ['c-1/placed', 'c-1/placed', 'c-2/placed', 'c-1/placed', 'c-3/placed', 'c-3/placed']
    >>> len({d["id"] for d in deliveries()})
    6
    """
    orders = ["c-1", "c-1", "c-2", "c-1", "c-3", "c-3"]
    return [
        {
            "version": "0",
            "id": f"6a7e8feb-b491-4cf7-a9f1-bf3703467{n:03d}",
            "detail-type": "OrderPlaced",
            "source": "shop.orders",
            "detail": {"event_id": f"{order}/placed", "order_id": order},
        }
        for n, order in enumerate(orders)
    ]


def idempotent_consumer(
    lab: Lab, reserve: Callable[[dict[str, Any]], Any], reservations: Counter[str]
) -> Passed:
    """Exercise 3: `reserve(event)` reserves each order once however often its event comes, by
    a conditional put of the event's own id in shop-seen, with an expiry attribute under TTL."""
    ddb = lab.client("dynamodb")
    _table(lab, SEEN_TABLE, "run the exercises' setup cell again: it creates it")
    ttl = ddb.describe_time_to_live(TableName=SEEN_TABLE).get("TimeToLiveDescription", {})
    attribute = ttl.get("AttributeName", "")
    expect(
        ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and bool(attribute),
        f"Time to Live enabled on {SEEN_TABLE!r}",
        f"TimeToLiveStatus {ttl.get('TimeToLiveStatus', 'DISABLED')}",
        f"ddb.update_time_to_live(TableName={SEEN_TABLE!r}, TimeToLiveSpecification="
        "{'Enabled': True, 'AttributeName': 'expires_at'})",
    )
    reservations.clear()
    for event in deliveries():
        reserve(json.loads(json.dumps(event)))
    counts = dict(reservations)
    expect(
        counts == {"c-1": 1, "c-2": 1, "c-3": 1},
        "each order reserved once: {'c-1': 1, 'c-2': 1, 'c-3': 1}",
        repr(counts),
        "key on the event's own id, event['detail']['event_id']: each copy has a new "
        "EventBridge id (event['id']); skip the work when the conditional put fails"
        if counts.get("c-1", 0) > 1
        else "reserve with reservations[event['detail']['order_id']] += 1 when the event is new",
    )
    seen = _scan(lab, SEEN_TABLE)
    keys = {json.dumps(item, sort_keys=True) for item in seen}
    expect(
        len(seen) == 3 and all(_mentions(item, "/placed") for item in seen),
        f"three items in {SEEN_TABLE!r}, one per event id",
        f"{len(seen)} item(s)" + (f": {sorted(keys)[:2]}" if seen else ""),
        "a set in memory forgets on a restart and is not shared by two copies of the "
        f"consumer: put the event id into {SEEN_TABLE!r} with "
        "ConditionExpression='attribute_not_exists(...)'",
    )
    now = lab.clock.now().timestamp()
    expiring = [i for i in seen if "N" in i.get(attribute, {}) and float(i[attribute]["N"]) > now]
    expect(
        len(expiring) == len(seen),
        f"each item with {attribute!r}, a number of epoch seconds in the future",
        f"{len(expiring)} of {len(seen)}",
        f"add {attribute!r}: {{'N': str(int(lab.clock.now().timestamp()) + 7 * 24 * 3600)}} "
        "to the item: TTL deletes it after that time (seconds, not milliseconds)",
    )
    return Passed("Exercise 3", "three orders reserved once each from six deliveries; keys expire")
