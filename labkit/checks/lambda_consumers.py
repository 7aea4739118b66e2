"""Checks for lesson 08 (Lambda consumers): a queue and its event source mapping set up as AWS
advises, and a handler that reports only the records that failed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.checks import Passed, expect, queue_url
from labkit.lessons.decoupling import send_orders

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "PAYMENTS_FUNCTION",
    "PROVIDER_LIMIT",
    "SHIPMENTS",
    "UNKNOWN_COUNTRY",
    "partial_failures",
    "payments_wiring",
]

PAYMENTS_FUNCTION = "payments"
PAYMENTS_QUEUE = "payments"
PAYMENTS_DLQ = "payments-dlq"
#: how many payments the check sends through the learner's mapping
PAYMENTS = 60
#: the payment provider behind the function takes at most this many calls at once
PROVIDER_LIMIT = 5
#: AWS: a visibility timeout of at least six times the function's timeout
TIMEOUT_FACTOR = 6
#: AWS: a maxReceiveCount of at least 5 on a queue Lambda reads
MIN_RECEIVES = 5
SHIPMENTS_DLQ = "shipments-dlq"
UNKNOWN_COUNTRY = "XX"
#: exercise 2's shipments: (id, country); three go to a country the shop does not ship to
SHIPMENTS = tuple(
    (f"s-{n:02d}", UNKNOWN_COUNTRY if n in (4, 11, 17) else ("FR", "DE", "PT", "NL")[n % 4])
    for n in range(1, 21)
)
START_OVER = "start over: run the exercises' setup cell again, then your cells"


def _queue(lab: Lab, name: str) -> tuple[str, dict[str, str]]:
    """The URL and attributes of queue `name`, or a failed check saying how to create it."""
    url = queue_url(lab, name)
    attributes = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return url, dict(attributes["Attributes"])


def _mappings(lab: Lab, queue_arn: str, function_arn: str) -> list[dict[str, Any]]:
    listed = lab.client("lambda").list_event_source_mappings().get("EventSourceMappings", [])
    return [
        m
        for m in listed
        if m.get("EventSourceArn") == queue_arn and m.get("FunctionArn") == function_arn
    ]


def _at_once(invocations: Sequence[Any]) -> int:
    """The most invocations that ran at the same lab time."""
    moments = {i.time for i in invocations}
    return max(
        (sum(1 for i in invocations if i.time <= t < i.time + i.duration) for t in moments),
        default=0,
    )


def payments_wiring(lab: Lab) -> Passed:
    """Exercise 1: the payments queue sized for its function, its dead-letter queue after 5
    receives or more, and a mapping with partial batch responses and a maximum concurrency the
    provider can take; then 60 payments sent and run, kept to that concurrency."""
    lam = lab.client("lambda")
    try:
        config = lam.get_function_configuration(FunctionName=PAYMENTS_FUNCTION)
    except lam.exceptions.ResourceNotFoundException:
        config = None
    expect(
        config is not None,
        f"the function {PAYMENTS_FUNCTION!r}",
        "no such function in the lab",
        "the exercises' setup cell deploys it: run it, then your cell",
    )
    assert config is not None
    timeout, function_arn = int(config["Timeout"]), str(config["FunctionArn"])
    _, attributes = _queue(lab, PAYMENTS_QUEUE)
    visibility = int(attributes.get("VisibilityTimeout", "30"))
    expect(
        visibility >= TIMEOUT_FACTOR * timeout,
        f"a VisibilityTimeout of at least {TIMEOUT_FACTOR} x the function's timeout "
        f"({TIMEOUT_FACTOR} x {timeout} = {TIMEOUT_FACTOR * timeout} s)",
        f"{visibility} s",
        "read the timeout with lambda_.get_function_configuration(FunctionName='payments') and "
        "set VisibilityTimeout to six times it (set_queue_attributes changes an existing queue)",
    )
    policy = json.loads(attributes.get("RedrivePolicy") or "{}")
    target = str(policy.get("deadLetterTargetArn", ""))
    expect(
        target.endswith(":" + PAYMENTS_DLQ),
        f"a RedrivePolicy whose deadLetterTargetArn is the ARN of {PAYMENTS_DLQ!r}",
        target or "no RedrivePolicy",
        "create the dead-letter queue first, read its QueueArn, and name it in RedrivePolicy",
    )
    receives = int(policy.get("maxReceiveCount", 0))
    expect(
        receives >= MIN_RECEIVES,
        f"a maxReceiveCount of at least {MIN_RECEIVES}",
        str(receives),
        "with fewer receives a message that was only throttled or unlucky ends in the "
        "dead-letter queue; AWS advises at least 5 for a queue Lambda reads",
    )
    mappings = _mappings(lab, attributes["QueueArn"], function_arn)
    expect(
        len(mappings) == 1,
        f"one event source mapping from {PAYMENTS_QUEUE!r} to the function {PAYMENTS_FUNCTION!r}",
        f"{len(mappings)}",
        "lambda_.create_event_source_mapping(EventSourceArn=<the queue's ARN>, "
        "FunctionName='payments', ...) once; delete extra ones with "
        "delete_event_source_mapping(UUID=...), or " + START_OVER,
    )
    mapping = mappings[0]
    responses = mapping.get("FunctionResponseTypes") or []
    expect(
        "ReportBatchItemFailures" in responses,
        "FunctionResponseTypes=['ReportBatchItemFailures'] on the mapping",
        str(responses),
        "without it a handler's batchItemFailures answer is ignored: one failed payment sends "
        "its whole batch back; " + START_OVER,
    )
    cap = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
    expect(
        cap is not None and cap <= PROVIDER_LIMIT,
        f"ScalingConfig={{'MaximumConcurrency': ...}} of at most {PROVIDER_LIMIT} (the provider's "
        "limit)",
        "no ScalingConfig" if cap is None else f"MaximumConcurrency {cap}",
        "the function may run 10 copies; the mapping's maximum concurrency is what keeps the "
        f"provider at {PROVIDER_LIMIT} calls at once; " + START_OVER,
    )
    url, _ = _queue(lab, PAYMENTS_QUEUE)
    with lab.tracer.paused():  # the check's load, not the learner's calls
        send_orders(lab.client("sqs"), url, [json.dumps({"payment": n}) for n in range(PAYMENTS)])
    run = lab.functions.run_until_idle()
    expect(
        run.processed == PAYMENTS,
        f"the {PAYMENTS} payments the check sent processed",
        f"{run.processed} processed, {run.failed} failed",
        "the mapping must be enabled and point at the function 'payments'; " + START_OVER,
    )
    busiest = _at_once(run.invocations)
    expect(
        busiest <= PROVIDER_LIMIT,
        f"at most {PROVIDER_LIMIT} invocations at once",
        f"{busiest} at once",
        "run the exercise cell again after fixing the mapping, or " + START_OVER,
    )
    return Passed(
        "exercise 1",
        f"visibility {visibility} s for a {timeout} s function, dead letters after {receives} "
        f"receives, partial batch responses, at most {busiest} of {cap} invocations at once",
    )


def _peek(lab: Lab, url: str) -> list[str]:
    """The bodies waiting in a queue, left where they are (up to 10: enough to judge)."""
    with lab.tracer.paused():
        got = lab.client("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
        )
    return [m["Body"] for m in got.get("Messages", [])]


def _shipment_id(body: str) -> str:
    try:
        return str(json.loads(body).get("id", body))
    except (ValueError, AttributeError):
        return body


def partial_failures(lab: Lab, run: Any, shipped: Sequence[str] | None) -> Passed:
    """Exercise 2: every good shipment shipped once, every one to an unknown country reported
    alone, so it, and only it, ends in the dead-letter queue."""
    expect(
        isinstance(shipped, list | tuple),
        "the list `shipped` your handler appends to",
        repr(shipped)[:60],
        "pass the list: partial_failures(lab, run, shipped)",
    )
    assert shipped is not None
    expect(
        bool(getattr(run, "invocations", None)),
        "the result of lab.functions.run_until_idle()",
        repr(run)[:80],
        "keep the result of the last line: run = lab.functions.run_until_idle()",
    )
    unknown = [i.error for i in run.invocations if "invalid batchItemFailures" in i.error]
    expect(
        not unknown,
        "each itemIdentifier the messageId of a record of the batch",
        unknown[0] if unknown else "",
        "an itemIdentifier that is no messageId of the batch fails the whole batch (Lambda "
        "does the same for an empty or null one): report record['messageId'], not the body, "
        "the shipment's id or an index; " + START_OVER,
    )
    good = [i for i, country in SHIPMENTS if country != UNKNOWN_COUNTRY]
    bad = [i for i, country in SHIPMENTS if country == UNKNOWN_COUNTRY]
    counts = Counter(shipped)
    twice = sorted(i for i in good if counts[i] > 1)
    expect(
        not twice,
        "every good shipment shipped once",
        f"{', '.join(twice)} shipped {max(counts[i] for i in twice) if twice else 0} times",
        "a failure that is not reported record by record sends the whole batch back, and its "
        "good records are shipped again: answer {'batchItemFailures': [{'itemIdentifier': "
        "record['messageId']}]} for the failed records only, and do not raise; " + START_OVER,
    )
    missing = sorted(i for i in good if counts[i] == 0)
    expect(
        not missing,
        "every good shipment shipped",
        f"never shipped: {', '.join(missing)}",
        "handle every record of the batch: a loop that stops (raise, break, return) at the "
        "first failure leaves the records after it unshipped; " + START_OVER,
    )
    wrong = sorted(i for i in bad if counts[i])
    expect(
        not wrong,
        f"no shipment to {UNKNOWN_COUNTRY!r} shipped",
        ", ".join(wrong),
        "append to `shipped` only after the country was found",
    )
    dlq, _ = _queue(lab, SHIPMENTS_DLQ)
    dead = {_shipment_id(b) for b in _peek(lab, dlq)}
    expect(
        dead <= set(bad),
        f"only {', '.join(bad)} in {SHIPMENTS_DLQ!r}",
        ", ".join(sorted(dead)),
        "good shipments reached the dead-letter queue in an earlier run; " + START_OVER,
    )
    expect(
        dead == set(bad),
        f"{', '.join(bad)} in {SHIPMENTS_DLQ!r}",
        ", ".join(sorted(dead)) or "nothing",
        "a record the handler skips without reporting it counts as a success, and Lambda "
        "deletes it: the bad shipment is lost instead of waiting in the dead-letter queue. "
        "Add {'itemIdentifier': record['messageId']} to batchItemFailures for it",
    )
    return Passed(
        "exercise 2",
        f"{len(good)} shipments shipped once each; {', '.join(bad)} reported alone and "
        "dead-lettered",
    )
