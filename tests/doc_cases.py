"""Filter-policy and event-pattern examples from the AWS documentation, with the outcome it states.

Each case names the page and section it comes from. `expected` is what the documentation says:
"delivered" (the subscription / rule matches), "dropped" (it does not), "invalid" (Subscribe or
PutRule is rejected). Event-ruler README examples are used where the EventBridge user guide
defers to it; events whose fields sit at the top level there are moved under "detail" (a PutEvents
caller controls only source, detail-type, detail, resources and time), which the case says.

`moto_differs` marks the cases stock moto 5.2.5 gets wrong (measured against a stock moto server:
tests/test_doc_cases.py runs them there as known differences);
labkit.moto_patches.filters_and_patterns corrects them on
the embedded backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DocCase", "CASES", "S", "N"]

SNS = "https://docs.aws.amazon.com/sns/latest/dg/"
EB = "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
RULER = "https://github.com/aws/event-ruler/blob/main/README.md"


@dataclass(frozen=True)
class DocCase:
    """One documented example: a policy or pattern, one message or event, the stated outcome."""

    id: str
    service: str  # "sns" or "events"
    pattern: dict[str, Any]
    expected: str  # "delivered", "dropped" or "invalid"
    source: str  # page URL and section
    scope: str = "MessageAttributes"
    attributes: dict[str, Any] = field(default_factory=dict)  # Publish MessageAttributes shape
    body: str = "{}"
    event: dict[str, Any] = field(default_factory=dict)  # source, detail-type, detail, time, ...
    moto_differs: str = ""  # why stock moto 5.2.5 answers otherwise (empty: it agrees)


def S(value: str) -> dict[str, str]:
    """A String message attribute."""
    return {"DataType": "String", "StringValue": value}


def A(*values: Any) -> dict[str, str]:
    """A String.Array message attribute."""
    return {"DataType": "String.Array", "StringValue": json.dumps(list(values))}


def N(value: str) -> dict[str, str]:
    """A Number message attribute."""
    return {"DataType": "Number", "StringValue": value}


def body(**values: Any) -> str:
    return json.dumps(values)


def ev(detail: dict[str, Any], source: str = "shop", **top: Any) -> dict[str, Any]:
    """An event as PutEvents sends it (detail-type "Doc example" unless given)."""
    return {"source": source, "detail-type": top.pop("detail_type", "Doc example"), **top,
            "detail": detail}  # fmt: skip


_STR = SNS + "string-value-matching.html"
_NUM = SNS + "numeric-value-matching.html"
_KEY = SNS + "attribute-key-matching.html"
_LOGIC = SNS + "and-or-logic.html"
_LIMITS = SNS + "subscription-filter-policy-constraints.html"
_OPS = EB + "eb-create-pattern-operators.html"
_ARR = EB + "eb-event-patterns-arrays.html"
_NULL = EB + "eb-event-patterns-null-values.html"
_PAT = EB + "eb-event-patterns.html"

_INTERESTS = {"customer_interests": ["rugby", "tennis"]}
_BUT = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
_OR = {
    "source": ["aws.cloudwatch"],
    "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
}
_STORE_EXISTS = {"store": [{"exists": True}]}
_STORE_ABSENT = {"store": [{"exists": False}]}
_EC2 = {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33", "state": "running"}
_RULER_COMPLEX = {
    "time": [{"prefix": "2017-10-02"}],
    "detail": {
        "state": [{"anything-but": "initializing"}],
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"anything-but": [100, 200, 300]}],
        "source-ip": [{"cidr": "10.0.0.0/8"}],
    },
}
_EMPLOYEES = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}
_MOTO_ABUT_ARRAY = "moto drops an array in the body unless none of its elements is listed"
_MOTO_NO_CIDR = "moto rejects cidr in SNS policies as an unknown match type"
_MOTO_NO_ATTRS = "moto matches exists:false on a message without any attribute"
_MOTO_BODY_OR = "moto fails the Publish call (HTTP 500) on $or in a message-body policy"
_MOTO_TIME = "moto matches on time as epoch seconds, so a prefix on the date never matches"
_MOTO_NO_CHECK = "moto accepts the pattern: it does not check operators or their values"
_MOTO_SNS_CHECK = "moto accepts the policy"

CASES: tuple[DocCase, ...] = (
    # ---- SNS, string matching -------------------------------------------------------------
    DocCase(
        "sns-exact-string",
        "sns",
        _INTERESTS,
        "delivered",
        _STR + " #string-exact-matching",
        attributes={"customer_interests": S("rugby")},
    ),
    DocCase(
        "sns-exact-string-array",
        "sns",
        _INTERESTS,
        "delivered",
        _STR + " #string-exact-matching",
        attributes={"customer_interests": A("rugby", "tennis")},
    ),
    DocCase(
        "sns-exact-no-match",
        "sns",
        _INTERESTS,
        "dropped",
        _STR + " #string-exact-matching",
        attributes={"customer_interests": S("baseball")},
    ),
    DocCase(
        "sns-exact-array-no-match",
        "sns",
        _INTERESTS,
        "dropped",
        _STR + " #string-exact-matching",
        attributes={"customer_interests": A("baseball")},
    ),
    DocCase(
        "sns-exact-body",
        "sns",
        _INTERESTS,
        "delivered",
        _STR + " #string-exact-matching",
        scope="MessageBody",
        body=body(customer_interests="tennis"),
    ),
    DocCase(
        "sns-exact-body-no-match",
        "sns",
        _INTERESTS,
        "dropped",
        _STR + " #string-exact-matching",
        scope="MessageBody",
        body=body(customer_interests="baseball"),
    ),
    DocCase(
        "sns-anything-but",
        "sns",
        _BUT,
        "delivered",
        _STR + " #string-anything-but-matching",
        attributes={"customer_interests": S("football")},
    ),
    DocCase(
        "sns-anything-but-array",
        "sns",
        _BUT,
        "delivered",
        _STR + " #string-anything-but-matching (contains a value that isn't rugby or tennis)",
        attributes={"customer_interests": A("rugby", "baseball")},
    ),
    DocCase(
        "sns-anything-but-body-array",
        "sns",
        _BUT,
        "delivered",
        _STR + " #string-anything-but-matching (message body with an array)",
        scope="MessageBody",
        body=body(customer_interests=["rugby", "baseball"]),
        moto_differs=_MOTO_ABUT_ARRAY,
    ),
    DocCase(
        "sns-anything-but-no-match",
        "sns",
        _BUT,
        "dropped",
        _STR + " #string-anything-but-matching",
        attributes={"customer_interests": S("rugby")},
    ),
    DocCase(
        "sns-anything-but-prefix",
        "sns",
        {"event_type": [{"anything-but": {"prefix": "order-"}}]},
        "delivered",
        _STR + " #string-anything-but-matching (prefix with anything-but)",
        attributes={"event_type": S("data-entry")},
    ),
    DocCase(
        "sns-anything-but-prefix-no-match",
        "sns",
        {"event_type": [{"anything-but": {"prefix": "order-"}}]},
        "dropped",
        _STR + " #string-anything-but-matching (prefix with anything-but)",
        attributes={"event_type": S("order-cancelled")},
    ),
    DocCase(
        "sns-equals-ignore-case",
        "sns",
        {"customer_interests": [{"equals-ignore-case": "tennis"}]},
        "delivered",
        _STR + " #string-equals-ignore",
        attributes={"customer_interests": S("TENNIS")},
    ),
    DocCase(
        "sns-equals-ignore-case-body",
        "sns",
        {"customer_interests": [{"equals-ignore-case": "tennis"}]},
        "delivered",
        _STR + " #string-equals-ignore",
        scope="MessageBody",
        body=body(customer_interests="Tennis"),
    ),
    DocCase(
        "sns-equals-ignore-case-no-match",
        "sns",
        {"customer_interests": [{"equals-ignore-case": "tennis"}]},
        "dropped",
        _STR + " #string-equals-ignore",
        attributes={"customer_interests": S("rugby")},
    ),
    DocCase(
        "sns-cidr",
        "sns",
        {"source_ip": [{"cidr": "10.0.0.0/24"}]},
        "delivered",
        _STR + " #string-address-matching",
        attributes={"source_ip": S("10.0.0.255")},
        moto_differs=_MOTO_NO_CIDR,
    ),
    DocCase(
        "sns-cidr-no-match",
        "sns",
        {"source_ip": [{"cidr": "10.0.0.0/24"}]},
        "dropped",
        _STR + " #string-address-matching",
        attributes={"source_ip": S("10.1.1.0")},
        moto_differs=_MOTO_NO_CIDR,
    ),
    DocCase(
        "sns-cidr-body",
        "sns",
        {"source_ip": [{"cidr": "10.0.0.0/24"}]},
        "delivered",
        _STR + " #string-address-matching",
        scope="MessageBody",
        body=body(source_ip="10.0.0.0"),
        moto_differs=_MOTO_NO_CIDR,
    ),
    DocCase(
        "sns-prefix",
        "sns",
        {"customer_interests": [{"prefix": "bas"}]},
        "delivered",
        _STR + " #string-prefix-matching",
        attributes={"customer_interests": S("basketball")},
    ),
    DocCase(
        "sns-prefix-no-match",
        "sns",
        {"customer_interests": [{"prefix": "bas"}]},
        "dropped",
        _STR + " #string-prefix-matching",
        attributes={"customer_interests": S("rugby")},
    ),
    DocCase(
        "sns-suffix",
        "sns",
        {"customer_interests": [{"suffix": "ball"}]},
        "delivered",
        _STR + " #string-suffix-matching",
        attributes={"customer_interests": S("baseball")},
    ),
    DocCase(
        "sns-suffix-body-no-match",
        "sns",
        {"customer_interests": [{"suffix": "ball"}]},
        "dropped",
        _STR + " #string-suffix-matching",
        scope="MessageBody",
        body=body(customer_interests="rugby"),
    ),
    # ---- SNS, numeric matching ------------------------------------------------------------
    DocCase(
        "sns-numeric-exact",
        "sns",
        {"price_usd": [{"numeric": ["=", 301.5]}]},
        "delivered",
        _NUM + " #numeric-exact-matching",
        attributes={"price_usd": N("3.015e2")},
    ),
    DocCase(
        "sns-numeric-exact-body",
        "sns",
        {"price_usd": [{"numeric": ["=", 301.5]}]},
        "delivered",
        _NUM + " #numeric-exact-matching",
        scope="MessageBody",
        body='{"price_usd": 3.015e2}',
    ),
    DocCase(
        "sns-numeric-anything-but",
        "sns",
        {"price": [{"anything-but": [100, 500]}]},
        "delivered",
        _NUM + " #numeric-anything-but-matching",
        attributes={"price": N("100.1")},
    ),
    DocCase(
        "sns-numeric-anything-but-array-body",
        "sns",
        {"price": [{"anything-but": [100, 500]}]},
        "delivered",
        _NUM + " #numeric-anything-but-matching (contains a value that is neither)",
        scope="MessageBody",
        body=body(price=[100, 50]),
        moto_differs=_MOTO_ABUT_ARRAY,
    ),
    DocCase(
        "sns-numeric-anything-but-no-match",
        "sns",
        {"price": [{"anything-but": [100, 500]}]},
        "dropped",
        _NUM + " #numeric-anything-but-matching",
        attributes={"price": N("100")},
    ),
    DocCase(
        "sns-numeric-range",
        "sns",
        {"price_usd": [{"numeric": [">", 0, "<=", 150]}]},
        "delivered",
        _NUM + " #numeric-value-range-matching",
        attributes={"price_usd": N("150")},
    ),
    DocCase(
        "sns-numeric-range-no-match",
        "sns",
        {"price_usd": [{"numeric": [">", 0, "<=", 150]}]},
        "dropped",
        _NUM + " #numeric-value-range-matching",
        attributes={"price_usd": N("0")},
    ),
    DocCase(
        "sns-numeric-negative-body",
        "sns",
        {"price_usd": [{"numeric": ["<", 0]}]},
        "delivered",
        _NUM + " #numeric-value-range-matching",
        scope="MessageBody",
        body=body(price_usd=-4.5),
    ),
    # ---- SNS, key matching ----------------------------------------------------------------
    DocCase(
        "sns-exists-true",
        "sns",
        _STORE_EXISTS,
        "delivered",
        _KEY,
        attributes={"store": S("fans"), "customer_interests": A("baseball", "basketball")},
    ),
    DocCase(
        "sns-exists-true-missing",
        "sns",
        _STORE_EXISTS,
        "dropped",
        _KEY,
        attributes={"customer_interests": A("baseball", "basketball")},
    ),
    DocCase(
        "sns-exists-true-body",
        "sns",
        _STORE_EXISTS,
        "delivered",
        _KEY,
        scope="MessageBody",
        body=body(store="fans"),
    ),
    DocCase(
        "sns-exists-true-empty-value",
        "sns",
        _STORE_EXISTS,
        "dropped",
        _KEY + " (the key must have a non-null and non-empty value)",
        scope="MessageBody",
        body=body(store="", customer_interests=["baseball"]),
        moto_differs="moto counts an empty value as present",
    ),
    DocCase(
        "sns-exists-true-null-value",
        "sns",
        _STORE_EXISTS,
        "dropped",
        _KEY + " (the key must have a non-null and non-empty value)",
        scope="MessageBody",
        body=body(store=None, customer_interests=["baseball"]),
        moto_differs="moto counts a null value as present",
    ),
    DocCase(
        "sns-exists-false",
        "sns",
        _STORE_ABSENT,
        "delivered",
        _KEY,
        attributes={"customer_interests": A("baseball", "basketball")},
    ),
    DocCase(
        "sns-exists-false-present",
        "sns",
        _STORE_ABSENT,
        "dropped",
        _KEY,
        attributes={"store": S("fans")},
    ),
    DocCase(
        "sns-exists-false-no-attributes",
        "sns",
        _STORE_ABSENT,
        "dropped",
        _KEY + " (exists:false matches only if at least one attribute is present)",
        attributes={},
        moto_differs=_MOTO_NO_ATTRS,
    ),
    DocCase(
        "sns-exists-false-body",
        "sns",
        _STORE_ABSENT,
        "delivered",
        _KEY,
        scope="MessageBody",
        body=body(customer_interests=["baseball", "basketball"]),
    ),
    # ---- SNS, AND / OR --------------------------------------------------------------------
    DocCase(
        "sns-and",
        "sns",
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        "delivered",
        _LOGIC + " #and-logic",
        attributes={"customer_interests": S("rugby"), "price_usd": N("101")},
    ),
    DocCase(
        "sns-and-one-fails",
        "sns",
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        "dropped",
        _LOGIC + " #and-logic",
        attributes={"customer_interests": S("rugby"), "price_usd": N("100")},
    ),
    DocCase(
        "sns-or-values",
        "sns",
        {"customer_interests": ["rugby", "football", "baseball"]},
        "delivered",
        _LOGIC + " #or-logic",
        attributes={"customer_interests": S("football")},
    ),
    DocCase(
        "sns-or-operator",
        "sns",
        _OR,
        "delivered",
        _LOGIC + " #or-operator",
        attributes={"source": S("aws.cloudwatch"), "namespace": S("AWS/EC2")},
    ),
    DocCase(
        "sns-or-operator-no-match",
        "sns",
        _OR,
        "dropped",
        _LOGIC + " #or-operator",
        attributes={"source": S("aws.cloudwatch"), "namespace": S("AWS/S3")},
    ),
    DocCase(
        "sns-or-operator-body",
        "sns",
        _OR,
        "delivered",
        _LOGIC + " #or-operator",
        scope="MessageBody",
        body=body(source="aws.cloudwatch", metricName="CPUUtilization"),
        moto_differs=_MOTO_BODY_OR,
    ),
    DocCase(
        "sns-or-operator-body-no-match",
        "sns",
        _OR,
        "dropped",
        _LOGIC + " #or-operator",
        scope="MessageBody",
        body=body(source="aws.ec2", metricName="CPUUtilization"),
    ),
    DocCase(
        "sns-nested-body",
        "sns",
        {"Records": {"eventName": [{"prefix": "ObjectCreated:"}]}},
        "delivered",
        SNS + "sns-message-filtering-scope.html (payload-based policies support nesting)",
        scope="MessageBody",
        body=body(Records=[{"eventName": "ObjectCreated:Put"}, {"eventName": "Other"}]),
    ),
    # ---- SNS, invalid policies ------------------------------------------------------------
    DocCase(
        "sns-invalid-nested-attributes",
        "sns",
        {"a": {"b": ["x"]}},
        "invalid",
        _LIMITS + " #subscription-filter-policy-attribute-constraints (no nesting)",
    ),
    DocCase(
        "sns-invalid-six-keys",
        "sns",
        {k: ["x"] for k in "abcdef"},
        "invalid",
        _LIMITS + " (a filter policy can have a maximum of five keys)",
    ),
    DocCase(
        "sns-invalid-too-complex",
        "sns",
        {"a": list(range(10)), "b": list(range(4)), "c": list(range(4))},
        "invalid",
        _LIMITS + " (the total combination of values must not exceed 150)",
    ),
    DocCase(
        "sns-valid-or-sums-combinations",
        "sns",
        {"a": list(range(10)), "$or": [{"b": list(range(10))}, {"c": list(range(5))}]},
        "delivered",
        _LOGIC + " #or-operator (combinations of $or alternatives add up: 10*10 + 10*5 = 150)",
        attributes={"a": N("3"), "c": N("4")},
        moto_differs="moto multiplies: rejected",
    ),
    DocCase(
        "sns-invalid-numeric-bounds",
        "sns",
        {"price": [{"numeric": [">", 10, "<", 5]}]},
        "invalid",
        _NUM + " #numeric-value-range-matching (a range from low to high)",
    ),
    DocCase("sns-invalid-exists-string", "sns", {"store": [{"exists": "true"}]}, "invalid", _KEY),
    # ---- EventBridge, operators -----------------------------------------------------------
    DocCase(
        "eb-exact",
        "events",
        {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}},
        "delivered",
        _PAT,
        event=ev({"instance-id": "i-1", "state": "terminated"}, "aws.ec2"),
    ),
    DocCase(
        "eb-exact-no-match",
        "events",
        {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}},
        "dropped",
        _PAT,
        event=ev({"instance-id": "i-1", "state": "running"}, "aws.ec2"),
    ),
    DocCase(
        "eb-prefix-time",
        "events",
        {"time": [{"prefix": "2017-10-02"}]},
        "delivered",
        _OPS + " #eb-filtering-prefix-matching",
        event=ev({}, time="2017-10-02T18:43:48Z"),
        moto_differs=_MOTO_TIME,
    ),
    DocCase(
        "eb-prefix-ignore-case",
        "events",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}},
        "delivered",
        _OPS + " #eb-filtering-prefix-matching (ignore case)",
        event=ev({"service": "EventBridge"}),
    ),
    DocCase(
        "eb-suffix",
        "events",
        {"detail": {"FileName": [{"suffix": ".png"}]}},
        "delivered",
        _OPS + " #eb-filtering-suffix-matching",
        event=ev({"FileName": "image.png"}),
    ),
    DocCase(
        "eb-suffix-ignore-case",
        "events",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        "delivered",
        _OPS + " #eb-filtering-suffix-matching (ignore case)",
        event=ev({"FileName": "IMAGE.PNG"}),
    ),
    DocCase(
        "eb-anything-but",
        "events",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        "delivered",
        _OPS + " #eb-filtering-anything-but",
        event=ev({"state": "running"}),
    ),
    DocCase(
        "eb-anything-but-no-match",
        "events",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        "dropped",
        _OPS + " #eb-filtering-anything-but",
        event=ev({"state": "initializing"}),
    ),
    DocCase(
        "eb-anything-but-list",
        "events",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        "dropped",
        _OPS + " #eb-filtering-anything-but",
        event=ev({"state": "overloaded"}),
    ),
    DocCase(
        "eb-anything-but-numbers",
        "events",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        "delivered",
        _OPS + " #eb-filtering-anything-but",
        event=ev({"x-limit": 301.8}),
    ),
    DocCase(
        "eb-anything-but-prefix",
        "events",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        "dropped",
        _OPS + " #eb-filtering-anything-but-prefix",
        event=ev({"state": "initializing"}),
    ),
    DocCase(
        "eb-anything-but-suffix",
        "events",
        {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
        "delivered",
        _OPS + " #eb-filtering-anything-but-suffix",
        event=ev({"FileName": "notes.md"}),
    ),
    DocCase(
        "eb-anything-but-suffix-no-match",
        "events",
        {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
        "dropped",
        _OPS + " #eb-filtering-anything-but-suffix",
        event=ev({"FileName": "notes.txt"}),
    ),
    DocCase(
        "eb-anything-but-ignore-case",
        "events",
        {
            "detail": {
                "state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]
            }
        },
        "dropped",
        _OPS + " #eb-filtering-anything-but-ignore-case",
        event=ev({"state": "STOPPED"}),
    ),
    DocCase(
        "eb-anything-but-wildcard",
        "events",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        "dropped",
        _OPS + " #eb-filtering-anything-but-wildcard",
        event=ev({"FilePath": "/usr/lib/x.so"}),
    ),
    DocCase(
        "eb-anything-but-wildcard-match",
        "events",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        "delivered",
        _OPS + " #eb-filtering-anything-but-wildcard",
        event=ev({"FilePath": "/usr/bin/x"}),
    ),
    DocCase(
        "eb-anything-but-array",
        "events",
        {"detail": {"state": [{"anything-but": ["stopped"]}]}},
        "delivered",
        RULER + " #anything-but-matching with #json-array-matching (any element may match)",
        event=ev({"state": ["stopped", "running"]}),
    ),
    DocCase(
        "eb-numeric",
        "events",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },  # fmt: skip
        "delivered",
        _OPS + " #filtering-numeric-matching",
        event=ev(_EC2),
    ),
    DocCase(
        "eb-numeric-string-value",
        "events",
        {"detail": {"c-count": [{"numeric": [">", 0]}]}},
        "dropped",
        _OPS + " #filtering-numeric-matching (only JSON numbers)",
        event=ev({"c-count": "5"}),
    ),
    DocCase(
        "eb-cidr",
        "events",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        "delivered",
        _OPS + " #eb-filtering-ip-matching",
        event=ev({"sourceIPAddress": "10.0.0.24"}),
    ),
    DocCase(
        "eb-cidr-no-match",
        "events",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        "dropped",
        _OPS + " #eb-filtering-ip-matching",
        event=ev({"sourceIPAddress": "10.0.1.1"}),
    ),
    DocCase(
        "eb-exists-false",
        "events",
        {"detail": {"c-count": [{"exists": False}]}},
        "delivered",
        _OPS + " #eb-filtering-exists-matching",
        event=ev({"state": ["initializing", "running"]}),
    ),
    DocCase(
        "eb-exists-false-intermediate",
        "events",
        {"detail": {"c-count": [{"exists": False}]}},
        "delivered",
        _OPS + " #eb-filtering-exists-matching (c-count isn't a leaf node)",
        event=ev({"state": "running", "c-count": {"c1": 100}}),
    ),
    DocCase(
        "eb-exists-true",
        "events",
        {"detail": {"c-count": [{"exists": True}]}},
        "delivered",
        _OPS + " #eb-filtering-exists-matching",
        event=ev({"c-count": 5}),
    ),
    DocCase(
        "eb-exists-true-empty-array",
        "events",
        {"detail": {"tags": [{"exists": True}]}},
        "dropped",
        RULER + " #exists-matching (an empty array holds no leaf value)",
        event=ev({"tags": []}),
        moto_differs="moto counts an empty array as present",
    ),
    DocCase(
        "eb-empty-string",
        "events",
        {"detail": {"eventVersion": [""]}},
        "delivered",
        _NULL,
        event=ev({"eventVersion": "", "responseElements": None}),
    ),
    DocCase(
        "eb-null",
        "events",
        {"detail": {"responseElements": [None]}},
        "delivered",
        _NULL,
        event=ev({"eventVersion": "", "responseElements": None}),
    ),
    DocCase(
        "eb-empty-string-not-null",
        "events",
        {"detail": {"responseElements": [""]}},
        "dropped",
        _NULL + " (null values and empty strings are not interchangeable)",
        event=ev({"eventVersion": "", "responseElements": None}),
    ),
    DocCase(
        "eb-equals-ignore-case",
        "events",
        {"detail": {"Name": [{"equals-ignore-case": "alice"}]}},
        "delivered",
        _OPS + " #eb-filtering-equals-ignore-case-matching",
        event=ev({"Name": "ALICE"}),
    ),
    DocCase(
        "eb-wildcard",
        "events",
        {"detail": {"FileName": [{"wildcard": "dir/*.png"}]}},
        "delivered",
        _OPS + " #eb-filtering-wildcard-matching",
        event=ev({"FileName": "dir/dir1/dir2/a.png"}),
    ),
    DocCase(
        "eb-wildcard-no-match",
        "events",
        {"detail": {"FileName": [{"wildcard": "dir/*.png"}]}},
        "dropped",
        _OPS + " #eb-filtering-wildcard-matching",
        event=ev({"FileName": "dir/a.jpg"}),
    ),
    DocCase(
        "eb-or",
        "events",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },  # fmt: skip
        "delivered",
        _OPS + " #eb-filtering-complex-example-or",
        event=ev({"c-count": 50, "d-count": 30, "x-limit": 301.8}),
    ),
    DocCase(
        "eb-or-no-match",
        "events",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"detail": {"metricName": ["CPUUtilization"]}},
                {"detail": {"namespace": ["AWS/EC2"]}},
            ],
        },  # fmt: skip
        "dropped",
        RULER + ' #the-or-primitive ("Normal Or", moved under detail)',
        event=ev({"metricName": "ReadLatency", "namespace": "AWS/ES"}, "aws.cloudwatch"),
    ),
    DocCase(
        "eb-ruler-complex",
        "events",
        _RULER_COMPLEX,
        "delivered",
        RULER + " #complex-example",
        event=ev(_EC2, time="2017-10-02T16:24:49Z"),
        moto_differs=_MOTO_TIME,
    ),
    DocCase(
        "eb-array-intersection",
        "events",
        {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"]},
        "delivered",
        RULER + " #simple-matching (arrays match on a non-empty intersection)",
        event=ev(
            {},
            resources=[
                "arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
            ],
        ),
    ),  # fmt: skip
    DocCase(
        "eb-array-of-objects",
        "events",
        {"detail": {"employees": {"firstName": ["Anna"]}}},
        "delivered",
        RULER + ' #json-array-matching (moved under "detail")',
        event=ev(_EMPLOYEES),
        moto_differs="moto does not look inside arrays of objects",
    ),
    DocCase(
        "eb-array-of-objects-consistent",
        "events",
        {"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}},
        "dropped",
        RULER + " #json-array-matching (fields in different elements do not combine)",
        event=ev(_EMPLOYEES),
    ),
    DocCase(
        "eb-arrays-page",
        "events",
        {"detail": {"instance-ids": ["i-0c7a9f5c3d8b2e1f4"]}},
        "delivered",
        _ARR,
        event=ev({"instance-ids": ["i-0b7a8f2c3d4e5f6a7", "i-0c7a9f5c3d8b2e1f4"]}),
    ),
    # ---- EventBridge, invalid patterns ----------------------------------------------------
    DocCase(
        "eb-invalid-not-array",
        "events",
        {"source": "aws.ec2"},
        "invalid",
        _PAT + " (values in a pattern are always arrays)",
    ),
    DocCase(
        "eb-invalid-wildcard-consecutive",
        "events",
        {"detail": {"f": [{"wildcard": "a**b"}]}},
        "invalid",
        _OPS + " #eb-filtering-wildcard-matching (consecutive wildcards)",
        moto_differs=_MOTO_NO_CHECK,
    ),
    DocCase(
        "eb-invalid-unknown-operator",
        "events",
        {"detail": {"f": [{"contains": "x"}]}},
        "invalid",
        _OPS + " (the operators EventBridge supports)",
        moto_differs=_MOTO_NO_CHECK,
    ),
    DocCase(
        "eb-invalid-numeric-bounds",
        "events",
        {"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}},
        "invalid",
        _OPS + " #filtering-numeric-matching",
        moto_differs=_MOTO_NO_CHECK,
    ),
    DocCase(
        "eb-invalid-anything-but-mixed",
        "events",
        {"detail": {"x": [{"anything-but": ["a", 1]}]}},
        "invalid",
        _OPS + " #eb-filtering-anything-but (lists of only strings or only numbers)",
        moto_differs=_MOTO_NO_CHECK,
    ),
    DocCase(
        "eb-invalid-cidr",
        "events",
        {"detail": {"ip": [{"cidr": "10.0.0.0"}]}},
        "invalid",
        _OPS + " #eb-filtering-ip-matching (CIDR notation)",
        moto_differs=_MOTO_NO_CHECK,
    ),
)
