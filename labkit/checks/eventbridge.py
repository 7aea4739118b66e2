"""Checks for lesson 03 (EventBridge): they read the learner's buses, rules, targets, archives,
replays and queues, and say what is missing with a hint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import labkit.matcher as matching
from labkit.checks import Passed, expect, routing_hint, sender_may_send

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "returns_target",
    "refund_rule",
    "receipt_transformer",
    "payments_replay",
    "nightly_report",
    "pattern_matches",
    "Probe",
    "REFUND_PROBES",
]

BUS = "shop"


@dataclass(frozen=True)
class Probe:
    """A sample event a learner's pattern should (or should not) match, and what to say if not."""

    description: str
    source: str
    detail_type: str
    detail: dict[str, Any]
    should_match: bool
    hint: str

    def event(self, account: str = "123456789012", region: str = "us-east-1") -> dict[str, Any]:
        """The event as EventBridge would hand it to a rule."""
        return {
            "version": "0",
            "id": "00000000-0000-0000-0000-000000000000",
            "detail-type": self.detail_type,
            "source": self.source,
            "account": account,
            "time": "2026-01-05T09:00:00Z",
            "region": region,
            "resources": [],
            "detail": self.detail,
        }


def _refund(amount: Any, currency: str) -> dict[str, Any]:
    return {"refund_id": "r-probe", "amount": amount, "currency": currency}


#: The sample refunds exercise 1's pattern is tried on.
REFUND_PROBES: tuple[Probe, ...] = (
    Probe(
        "a refund of 25 EUR",
        "shop.payments",
        "RefundIssued",
        _refund(25, "EUR"),
        True,
        'match the source ["shop.payments"] and the detail-type ["RefundIssued"], and put the '
        'amount and currency conditions inside "detail"',
    ),
    Probe(
        "a refund of 0.5 GBP",
        "shop.payments",
        "RefundIssued",
        _refund(0.5, "GBP"),
        True,
        'any amount above zero counts, fractions too: use {"numeric": [">", 0]}',
    ),
    Probe(
        "a refund of 25 USD",
        "shop.payments",
        "RefundIssued",
        _refund(25, "USD"),
        False,
        'exclude USD with "currency": [{"anything-but": ["USD"]}]',
    ),
    Probe(
        "a refund of 0 EUR (a bookkeeping correction)",
        "shop.payments",
        "RefundIssued",
        _refund(0, "EUR"),
        False,
        'zero must not pass: "amount": [{"numeric": [">", 0]}] (not ">=")',
    ),
    Probe(
        "a PaymentFailed event of 25 EUR",
        "shop.payments",
        "PaymentFailed",
        _refund(25, "EUR"),
        False,
        'only refunds: add "detail-type": ["RefundIssued"]',
    ),
    Probe(
        "a RefundIssued event of 25 EUR from the source 'shop.orders'",
        "shop.orders",
        "RefundIssued",
        _refund(25, "EUR"),
        False,
        'only the payments service: add "source": ["shop.payments"]',
    ),
)


def pattern_matches(pattern: dict[str, Any] | str, event: dict[str, Any]) -> bool:
    """Whether an EventBridge pattern matches an event, judged by `labkit.matcher` (the matcher
    behind the lab's deliveries and its "why did my rule not match?" sentences).

    >>> pattern_matches({"source": ["shop.orders"]}, {"source": "shop.orders", "detail": {}})
    True
    >>> pattern_matches({"detail": {"total": [{"numeric": [">", 9]}]}}, {"detail": {"total": "10"}})
    False
    """
    return matching.pattern_matches(pattern, event)


# -- looking things up ------------------------------------------------------------------------
def _bus_arn(lab: Lab, bus: str = BUS) -> str:
    events = lab.client("events")
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    expect(
        bus in names,
        f"a custom event bus named {bus!r}",
        f"the buses {names}",
        "run the setup cell under the Exercises heading first (it creates it: "
        f"events.create_event_bus(Name={bus!r}))",
    )
    return str(events.describe_event_bus(Name=bus)["Arn"])


def _rule(lab: Lab, name: str, bus: str = BUS) -> dict[str, Any]:
    events = lab.client("events")
    rules = events.list_rules(EventBusName=bus).get("Rules", [])
    found = next((r for r in rules if r["Name"] == name), None)
    if found is None:
        names = [r["Name"] for r in rules]
        near = [n for n in names if name.split("-")[-1] in n]
        hint = f"create it with events.put_rule(Name={name!r}, EventBusName={bus!r}, ...)"
        if near:
            hint = (
                f"rename {near[0]!r} to {name!r}, or create {name!r}: the check looks it up by name"
            )
        expect(False, f"a rule named {name!r} on the {bus!r} bus", f"only {names}", hint)
    assert found is not None
    expect(
        "EventPattern" in found,
        f"the rule {name!r} to have an event pattern",
        "a rule with a schedule and no pattern",
        "pass EventPattern=json.dumps(your_pattern) to events.put_rule",
    )
    return found


def _queue_arn(lab: Lab, bus_arn: str, name: str) -> str:
    _, _, _, region, account, _ = bus_arn.split(":", 5)
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _targets(lab: Lab, rule: str, bus: str = BUS) -> list[dict[str, Any]]:
    answer = lab.client("events").list_targets_by_rule(Rule=rule, EventBusName=bus)
    return list(answer.get("Targets", []))


def _target_to(lab: Lab, rule: str, queue: str, bus_arn: str) -> dict[str, Any]:
    wanted = _queue_arn(lab, bus_arn, queue)
    targets = _targets(lab, rule)
    found = next((t for t in targets if t["Arn"] == wanted), None)
    if found is None:
        arns = [t["Arn"] for t in targets] or "no targets"
        expect(
            False,
            f"the rule {rule!r} to send to the queue {queue!r} ({wanted})",
            f"targets {arns}",
            f"events.put_targets(Rule={rule!r}, EventBusName={BUS!r}, "
            f'Targets=[{{"Id": "{queue}", "Arn": {queue}_arn}}])',
        )
    assert found is not None
    return found


def _peek(lab: Lab, queue: str) -> list[str]:
    """The bodies waiting in a queue, left in place (received with a zero visibility timeout)."""
    sqs = lab.client("sqs")
    with lab.tracer.paused():
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            expect(
                False,
                f"a queue named {queue!r}",
                "no such queue",
                f'run the exercise cell: it starts with make_queue("{queue}")',
            )
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [m["Body"] for m in answer.get("Messages", [])]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- exercise 1 -------------------------------------------------------------------------------
def refund_rule(lab: Lab) -> Passed:
    """Exercise 1: rule 'non-usd-refunds' on the shop bus: refunds above 0, not USD -> 'refunds'."""
    bus_arn = _bus_arn(lab)
    rule = _rule(lab, "non-usd-refunds")
    pattern = json.loads(rule["EventPattern"])
    _, _, _, region, account, _ = bus_arn.split(":", 5)
    for probe in REFUND_PROBES:
        verdict = matching.explain_pattern(pattern, probe.event(account, region))
        verb = "match" if probe.should_match else "let pass"
        hint = routing_hint(verdict.reasons, probe.should_match, verdict.matched, probe.hint)
        expect(
            verdict.matched == probe.should_match,
            f"the pattern to {verb} {probe.description}",
            f"it {'matched' if verdict.matched else 'did not match'} it "
            f"(pattern: {json.dumps(pattern)})",
            hint,
        )
    _target_to(lab, "non-usd-refunds", "refunds", bus_arn)
    return Passed(
        "Exercise 1",
        f"non-usd-refunds sorts the {len(REFUND_PROBES)} sample events right and sends to refunds",
    )


# -- exercise 2 -------------------------------------------------------------------------------
def receipt_transformer(lab: Lab) -> Passed:
    """Exercise 2: rule 'receipts' with an input transformer giving {"order": id, "amount": n}."""
    bus_arn = _bus_arn(lab)
    rule = _rule(lab, "receipts")
    pattern = json.loads(rule["EventPattern"])
    _, _, _, region, account, _ = bus_arn.split(":", 5)
    order = Probe(
        "an OrderPlaced event", "shop.orders", "OrderPlaced", {"order_id": "o-1"}, True, ""
    )
    expect(
        pattern_matches(pattern, order.event(account, region)),
        "the rule 'receipts' to match OrderPlaced events from shop.orders",
        f"a pattern that lets them pass: {json.dumps(pattern)}",
        'use the pattern of section 3: {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}',
    )
    target = _target_to(lab, "receipts", "receipts", bus_arn)
    transformer = target.get("InputTransformer")
    expect(
        bool(transformer),
        "the target to have an InputTransformer",
        "a target without one (the queue gets the whole event)",
        'add "InputTransformer": receipt_transformer to the target in events.put_targets',
    )
    paths = transformer.get("InputPathsMap", {})
    for wanted in ("$.detail.order_id", "$.detail.total"):
        expect(
            wanted in paths.values(),
            f"InputPathsMap to pick {wanted}",
            f"InputPathsMap {json.dumps(paths)}",
            'give each value a name: {"order": "$.detail.order_id", "amount": "$.detail.total"}',
        )
    bodies = _peek(lab, "receipts")
    expect(
        bool(bodies),
        "a receipt waiting in the queue 'receipts'",
        "an empty queue",
        "put the order after adding the target: "
        'events.put_events(Entries=[order_placed("o-12", 42)])',
    )
    parsed = [_json_or_none(body) for body in bodies]
    wanted_receipt = {"order": "o-12", "amount": 42}
    if wanted_receipt in parsed:
        return Passed("Exercise 2", 'the queue receipts holds {"order": "o-12", "amount": 42}')
    body, value = bodies[-1], parsed[-1]
    if not isinstance(value, dict):
        hint = 'make InputTemplate a JSON object: \'{"order": "<order>", "amount": <amount>}\''
    elif isinstance(value.get("amount"), str):
        hint = "the amount arrived as text: write <amount> without quotes around it in the template"
    elif "order" in value and not isinstance(value["order"], str):
        hint = (
            "the order id must arrive as a string: pick $.detail.order_id for it (<order> "
            'outside quotes gives the value\'s JSON, "o-12" with its quotes)'
        )
    elif set(value) != {"order", "amount"}:
        hint = 'use exactly two keys, "order" and "amount"'
    else:
        hint = 'put exactly the order o-12 with total 42: order_placed("o-12", 42)'
    expect(False, f"a receipt equal to {json.dumps(wanted_receipt)}", f"the body {body}", hint)
    raise AssertionError("unreachable")  # pragma: no cover


#: How to make what exercises 3 and 4 look for by name.
_HOW_TO_MAKE = {
    "payments-archive": (
        "events.create_archive(ArchiveName='payments-archive', EventSourceArn=shop_bus_arn, "
        "EventPattern=...)"
    ),
    "payments-replay": (
        "events.start_replay(ReplayName='payments-replay', EventSourceArn=payments_archive_arn, "
        "EventStartTime=..., EventEndTime=..., Destination={'Arn': shop_bus_arn})"
    ),
    "nightly-report": (
        "scheduled rules live on the default bus: events.put_rule(Name='nightly-report', "
        "ScheduleExpression=...) without EventBusName"
    ),
}


def _named(
    by_name: dict[str, dict[str, Any]], kind: str, name: str, *, where: str = ""
) -> dict[str, Any]:
    """The archive, replay or rule (`kind`, with its article) named `name`, of those listed."""
    noun = kind.split(" ", 1)[1]
    expect(
        name in by_name,
        f"{kind} named {name!r}{where}",
        f"the {noun}s {sorted(by_name)}{where}",
        _HOW_TO_MAKE[name],
    )
    return by_name[name]


# -- exercise 3 -------------------------------------------------------------------------------
def payments_replay(lab: Lab) -> Passed:
    """Exercise 3: archive 'payments-archive' of shop.payments events, replayed onto the bus."""
    bus_arn = _bus_arn(lab)
    events = lab.client("events")
    archives = events.list_archives().get("Archives", [])
    _named({a["ArchiveName"]: a for a in archives}, "an archive", "payments-archive")
    archive = events.describe_archive(ArchiveName="payments-archive")
    expect(
        archive["EventSourceArn"] == bus_arn,
        f"the archive to keep events of the shop bus ({bus_arn})",
        f"EventSourceArn {archive['EventSourceArn']}",
        "pass EventSourceArn=shop_bus_arn when you create the archive",
    )
    pattern = json.loads(archive.get("EventPattern") or "{}")
    _, _, _, region, account, _ = bus_arn.split(":", 5)
    payment = Probe("", "shop.payments", "RefundIssued", _refund(1, "EUR"), True, "")
    order = Probe("", "shop.orders", "OrderPlaced", {"order_id": "o-1"}, False, "")
    expect(
        pattern_matches(pattern, payment.event(account, region))
        and not pattern_matches(pattern, order.event(account, region)),
        "an archive pattern that keeps shop.payments events and nothing else",
        f"the pattern {json.dumps(pattern) if pattern else '(none: it keeps every event)'}",
        'EventPattern=json.dumps({"source": ["shop.payments"]})',
    )
    expect(
        archive.get("EventCount", 0) >= 2,
        "at least 2 events in the archive",
        f"{archive.get('EventCount', 0)}",
        "an archive only keeps events put after it exists: put the two refunds now",
    )
    replays = events.list_replays().get("Replays", [])
    _named({r["ReplayName"]: r for r in replays}, "a replay", "payments-replay")
    replay = events.describe_replay(ReplayName="payments-replay")
    expect(
        replay["EventSourceArn"] == archive["ArchiveArn"],
        f"the replay to read the archive {archive['ArchiveArn']}",
        f"EventSourceArn {replay['EventSourceArn']}",
        "pass EventSourceArn=payments_archive_arn (a replay reads an archive, not a bus)",
    )
    expect(
        replay["Destination"]["Arn"] == bus_arn,
        "the replay to put the events back on the shop bus",
        f"Destination {replay['Destination']['Arn']}",
        "pass Destination={'Arn': shop_bus_arn}",
    )
    expect(
        replay["State"] == "COMPLETED",
        "a completed replay",
        f"the state {replay['State']}",
        "wait for the replay: poll events.describe_replay until its State is COMPLETED",
    )
    _rule(lab, "non-usd-refunds")  # the queue below is fed by exercise 1's rule
    refunds = [_json_or_none(body) or {} for body in _peek(lab, "refunds")]
    eur = [b for b in refunds if b.get("detail", {}).get("refund_id") == "r-1"]
    replayed = [b for b in eur if "replay-name" in b]
    expect(
        len(eur) >= 2 and replayed,
        "the EUR refund r-1 twice in the queue 'refunds', once live and once replayed",
        f"{len(eur)} copies of r-1, {len(replayed)} of them replayed",
        "put refund_issued('r-1', 25, 'EUR') after creating the archive, then start the replay",
    )
    return Passed(
        "Exercise 3", "payments-archive kept the refunds and payments-replay sent them again"
    )


# -- exercise 4 -------------------------------------------------------------------------------
def nightly_report(lab: Lab) -> Passed:
    """Exercise 4: a scheduled rule 'nightly-report' at 02:00 UTC sending to the queue 'reports'."""
    events = lab.client("events")
    rules = events.list_rules().get("Rules", [])
    rule = _named(
        {r["Name"]: r for r in rules}, "a rule", "nightly-report", where=" on the default bus"
    )
    schedule = rule.get("ScheduleExpression", "")
    expect(
        _nightly_at_two(schedule),
        "a schedule firing every day at 02:00 UTC, such as cron(0 2 * * ? *)",
        schedule or "no schedule",
        "cron fields are: minutes hours day-of-month month day-of-week year (UTC); minute 0, "
        "hour 2, and every day, month and year",
    )
    bus_arn = str(events.describe_event_bus(Name="default")["Arn"])
    _, _, _, region, account, _ = bus_arn.split(":", 5)
    wanted = f"arn:aws:sqs:{region}:{account}:reports"
    arns = [t["Arn"] for t in _targets(lab, "nightly-report", "default")]
    expect(
        wanted in arns,
        f"the rule to send to the queue 'reports' ({wanted})",
        f"targets {arns or 'none'}",
        "events.put_targets(Rule='nightly-report', "
        "Targets=[{'Id': 'reports', 'Arn': reports_arn}])",
    )
    fired = [_json_or_none(b) or {} for b in _peek(lab, "reports")]
    scheduled = [b for b in fired if b.get("detail-type") == "Scheduled Event"]
    expect(
        len(scheduled) == 2,
        "two scheduled events in 'reports' after two lab days (one per night)",
        f"{len(scheduled)}",
        "advance the lab clock by two days (lab.advance(minutes=2 * 24 * 60)) after creating "
        "the rule, and do not read the queue before the check; to start again, "
        "events.delete_rule needs its targets removed first (events.remove_targets), or run the "
        "exercises' setup cell again (a clean lab)",
    )
    times = sorted(str(b.get("time", "")) for b in scheduled)
    expect(
        all(t.endswith("T02:00:00Z") for t in times) and len({t[:10] for t in times}) == 2,
        "one firing per night, at 02:00 UTC",
        f"firings at {', '.join(times)}",
        "the cron expression's hours are in UTC: hour 2",
    )
    return Passed("Exercise 4", "nightly-report fired once a night, at 02:00 UTC, into reports")


#: Each cron field's ways of saying "every" (day-of-month, month, day-of-week, year).
_EVERY = (
    {"*", "?", "1-31", "1/1", "*/1"},
    {"*", "1-12", "JAN-DEC", "1/1", "*/1"},
    {"*", "?", "1-7", "SUN-SAT", "1/1", "*/1"},
    {"*", "1970-2199"},
)


def _nightly_at_two(schedule: str) -> bool:
    """Whether a schedule fires every day at 02:00 UTC, however the cron expression says it.

    >>> [_nightly_at_two(s) for s in ("cron(0 2 * * ? *)", "cron(0 2 ? * * *)",
    ...                                 "cron(00 02 ? * SUN-SAT *)", "cron(0 2 ? * MON-FRI *)",
    ...                                 "cron(0 14 * * ? *)", "rate(1 day)")]
    [True, True, True, False, False, False]
    """
    text = schedule.strip()
    if not (text.startswith("cron(") and text.endswith(")")):
        return False
    fields = text[5:-1].upper().split()
    if len(fields) != 6 or not (fields[0].isdigit() and fields[1].isdigit()):
        return False
    every = all(f in allowed for f, allowed in zip(fields[2:], _EVERY, strict=True))
    return int(fields[0]) == 0 and int(fields[1]) == 2 and every


def returns_target(lab: Lab) -> Passed:
    """Exercise 5: the returns rule can deliver to its queue again, and keeps what it cannot
    deliver in its target's dead-letter queue."""
    bus_arn = _bus_arn(lab)
    rule = _rule(lab, "returns")
    returns = _queue_arn(lab, bus_arn, "returns")
    failed = _queue_arn(lab, bus_arn, "returns-failed")
    sqs = lab.client("sqs")
    with lab.tracer.paused():
        urls = {arn: sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                for arn in (returns, failed)}  # fmt: skip
    may = sender_may_send(lab, urls[returns], returns, rule["Arn"])
    expect(
        may.allowed,
        "an access policy on 'returns' letting the rule send (events.amazonaws.com, "
        "sqs:SendMessage, aws:SourceArn the rule's ARN)",
        may.reason,
        "set the queue's Policy with sqs.set_queue_attributes, with the rule's ARN "
        "(returns_rule) in an ArnEquals condition on aws:SourceArn",
    )
    other = rule["Arn"].rsplit("/", 1)[0] + "/not-returns"
    expect(
        not sender_may_send(lab, urls[returns], returns, other).allowed,
        "a policy that lets only the returns rule send",
        "one that lets any rule send (no aws:SourceArn condition naming returns)",
        'add "Condition": {"ArnEquals": {"aws:SourceArn": returns_rule}} to the Allow statement',
    )
    targets = [t for t in _targets(lab, "returns") if t["Arn"] == returns]
    expect(
        bool(targets),
        "the returns rule targeting the 'returns' queue",
        f"targets {[t['Arn'].rsplit(':', 1)[-1] for t in _targets(lab, 'returns')]}",
        "keep the target of the lesson's cell: put_targets(Rule='returns', ...)",
    )
    dead_letter = targets[0].get("DeadLetterConfig", {}).get("Arn", "")
    expect(
        dead_letter == failed,
        "the target's DeadLetterConfig naming 'returns-failed'",
        repr(dead_letter or "no DeadLetterConfig"),
        "keep DeadLetterConfig={'Arn': failed_arn} when you put the target again",
    )
    return Passed(
        "Exercise 5",
        "the returns rule delivers again, and an event it cannot deliver waits in "
        "returns-failed with the error that stopped it",
    )
