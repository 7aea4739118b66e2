"""Resource-policy evaluation against the cases the AWS documentation shows.

Each case: a policy as a page shows it, a delivery request, the outcome the page states (or the
evaluation logic implies), and the page.
"""

from __future__ import annotations

import pytest

from labkit.matcher.access import Request, evaluate

ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:billing"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/shop/big-orders"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:email"

SNS_SQS = "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html"
EB_TARGETS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
LOGIC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
OPERATORS = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "reference_policies_elements_condition_operators.html"
)
PRINCIPAL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
)
LAMBDA = "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html"


def _allow(principal: object, action: str, resource: str, condition: dict | None = None) -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


SNS_MAY_SEND = _allow(
    {"Service": "sns.amazonaws.com"},
    "sqs:SendMessage",
    QUEUE,
    {"ArnEquals": {"aws:SourceArn": TOPIC}},
)
FROM_TOPIC = Request("sns.amazonaws.com", "sqs:SendMessage", QUEUE, {"aws:SourceArn": TOPIC})
FROM_RULE = Request("events.amazonaws.com", "sqs:SendMessage", QUEUE, {"aws:SourceArn": RULE})
FROM_ACCOUNT = Request(
    "sns.amazonaws.com", "sqs:SendMessage", QUEUE, {"aws:SourceAccount": ACCOUNT}
)

CASES = [
    # (id, policy, request, allowed, source)
    ("service principal with its topic", SNS_MAY_SEND, FROM_TOPIC, True, SNS_SQS),
    (
        "another topic of the same service",
        SNS_MAY_SEND,
        Request("sns.amazonaws.com", "sqs:SendMessage", QUEUE, {"aws:SourceArn": TOPIC + "-v2"}),
        False,
        SNS_SQS,
    ),
    ("another service principal", SNS_MAY_SEND, FROM_RULE, False, SNS_SQS),
    ("no policy at all", None, FROM_TOPIC, False, LOGIC),
    (
        "action written in another case",
        _allow({"Service": "sns.amazonaws.com"}, "SQS:SendMessage", QUEUE),
        FROM_TOPIC,
        True,
        LOGIC,
    ),
    (
        "principal * covers a service principal",
        _allow("*", "sqs:SendMessage", QUEUE, {"ArnLike": {"aws:SourceArn": TOPIC}}),
        FROM_TOPIC,
        True,
        PRINCIPAL,
    ),
    (
        'principal {"AWS": "*"} covers a service principal',
        _allow({"AWS": ["*"]}, "sqs:SendMessage", QUEUE, {"ArnLike": {"aws:SourceArn": TOPIC}}),
        FROM_TOPIC,
        True,
        PRINCIPAL,
    ),
    (
        "an account principal does not cover a service",
        _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "sqs:*", QUEUE),
        FROM_TOPIC,
        False,
        PRINCIPAL,
    ),
    (
        "ArnLike with a wildcard in the resource part",
        _allow(
            {"Service": "events.amazonaws.com"},
            "sqs:SendMessage",
            QUEUE,
            {"ArnLike": {"aws:SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/shop/*"}},
        ),
        FROM_RULE,
        True,
        OPERATORS,
    ),
    (
        "ArnLike: a wildcard does not reach across parts",
        _allow(
            {"Service": "events.amazonaws.com"},
            "sqs:SendMessage",
            QUEUE,
            {"ArnLike": {"aws:SourceArn": "arn:aws:events:*"}},
        ),
        FROM_RULE,
        False,
        OPERATORS,
    ),
    (
        "ArnEquals: one of several values",
        _allow(
            {"Service": "events.amazonaws.com"},
            "sqs:SendMessage",
            QUEUE,
            {"ArnEquals": {"aws:SourceArn": [TOPIC, RULE]}},
        ),
        FROM_RULE,
        True,
        OPERATORS,
    ),
    (
        "aws:SourceAccount with StringEquals, key written in another case",
        _allow(
            {"Service": "sns.amazonaws.com"},
            "sqs:SendMessage",
            QUEUE,
            {"StringEquals": {"AWS:SourceAccount": ACCOUNT}},
        ),
        FROM_ACCOUNT,
        True,
        OPERATORS,
    ),
    (
        "aws:SourceAccount of another account",
        _allow(
            {"Service": "sns.amazonaws.com"},
            "sqs:SendMessage",
            QUEUE,
            {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        ),
        FROM_ACCOUNT,
        False,
        OPERATORS,
    ),
    (
        "StringLike with a wildcard",
        _allow("*", "sqs:SendMessage", QUEUE, {"StringLike": {"aws:SourceArn": "*:orders"}}),
        FROM_TOPIC,
        True,
        OPERATORS,
    ),
    (
        "StringEquals takes no wildcard",
        _allow("*", "sqs:SendMessage", QUEUE, {"StringEquals": {"aws:SourceArn": "*:orders"}}),
        FROM_TOPIC,
        False,
        OPERATORS,
    ),
    (
        "a key missing from the request: the condition is false",
        _allow("*", "sqs:SendMessage", QUEUE, {"ArnEquals": {"aws:SourceArn": TOPIC}}),
        Request("sns.amazonaws.com", "sqs:SendMessage", QUEUE),
        False,
        OPERATORS,
    ),
    (
        "conditions on two keys must both hold",
        _allow(
            "*",
            "sqs:SendMessage",
            QUEUE,
            {
                "ArnEquals": {"aws:SourceArn": TOPIC},
                "StringEquals": {"aws:SourceAccount": "111122223333"},
            },
        ),
        Request(
            "sns.amazonaws.com",
            "sqs:SendMessage",
            QUEUE,
            {"aws:SourceArn": TOPIC, "aws:SourceAccount": ACCOUNT},
        ),
        False,
        OPERATORS,
    ),
    (
        "explicit Deny over Allow",
        {
            "Statement": [
                SNS_MAY_SEND["Statement"][0],
                {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": QUEUE},
            ]
        },
        FROM_TOPIC,
        False,
        LOGIC,
    ),
    (
        "a Deny whose condition does not hold refuses nothing",
        {
            "Statement": [
                SNS_MAY_SEND["Statement"][0],
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE,
                    "Condition": {"ArnNotEquals": {"aws:SourceArn": TOPIC}},
                },
            ]
        },
        FROM_TOPIC,
        True,
        LOGIC,
    ),
    (
        "an Allow for another resource",
        _allow({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", QUEUE + "-dlq"),
        FROM_TOPIC,
        False,
        LOGIC,
    ),
    (
        "an EventBridge rule publishing to a topic",
        _allow(
            {"Service": "events.amazonaws.com"},
            "sns:Publish",
            TOPIC,
            {"ArnEquals": {"aws:SourceArn": RULE}},
        ),
        Request("events.amazonaws.com", "sns:Publish", TOPIC, {"aws:SourceArn": RULE}),
        True,
        EB_TARGETS,
    ),
    (
        "the default topic policy does not let EventBridge publish",
        _allow({"AWS": "*"}, "SNS:Publish", TOPIC, {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}),
        Request(
            "events.amazonaws.com",
            "sns:Publish",
            TOPIC,
            {"aws:SourceArn": RULE, "aws:SourceAccount": ACCOUNT},
        ),
        False,
        EB_TARGETS,
    ),
    (
        "a function's permission as add_permission writes it",
        _allow(
            {"Service": "sns.amazonaws.com"},
            "lambda:InvokeFunction",
            FUNCTION,
            {"ArnLike": {"AWS:SourceArn": TOPIC}},
        ),
        Request("sns.amazonaws.com", "lambda:InvokeFunction", FUNCTION, {"aws:SourceArn": TOPIC}),
        True,
        LAMBDA,
    ),
]


@pytest.mark.parametrize(
    ("policy", "request_", "allowed"),
    [pytest.param(p, r, a, id=i) for i, p, r, a, _source in CASES],
)
def test_documented_policy_cases(policy: dict | None, request_: Request, allowed: bool) -> None:
    assert evaluate(policy, request_).allowed is allowed


def test_a_refusal_names_what_was_missing() -> None:
    decision = evaluate(SNS_MAY_SEND, FROM_RULE)
    assert not decision.allowed
    assert "does not name events.amazonaws.com" in decision.reason
    denied = evaluate(
        {"Statement": [{"Sid": "lock", "Effect": "Deny", "Principal": "*", "Action": "*"}]},
        FROM_TOPIC,
    )
    assert (denied.allowed, denied.statement) == (False, "lock")
    assert "explicitly denied by statement 'lock'" in denied.reason
