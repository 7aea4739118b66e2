"""Let a sender deliver: the resource policies AWS needs before SNS or EventBridge can deliver.

Lesson 02 writes the queue policy that lets a topic send by hand; after it, lessons call
`allow_delivery` to give each receiver the statement AWS documents for its sender:

* a queue: its access policy lets ``sns.amazonaws.com`` / ``events.amazonaws.com`` call
  ``sqs:SendMessage`` when ``aws:SourceArn`` is the topic or rule;
* a topic: its access policy lets ``events.amazonaws.com`` call ``sns:Publish`` for the rule;
* a function: a permission (``lambda add_permission``) lets the service call
  ``lambda:InvokeFunction`` for the topic or rule.

Statements already there stay; a statement for the same sender is replaced, so calling it again
changes nothing.

>>> import json, labkit
>>> lab = labkit.start_lab()
>>> sqs, sns = lab.client("sqs"), lab.client("sns")
>>> topic = sns.create_topic(Name="orders")["TopicArn"]
>>> url = sqs.create_queue(QueueName="billing")["QueueUrl"]
>>> arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
>>> arn = arn["Attributes"]["QueueArn"]
>>> allow_delivery(lab, topic, arn)
>>> _ = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
>>> _ = sns.publish(TopicArn=topic, Message="o-1")
>>> json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])["Message"]
'o-1'
>>> lab.stop()
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.lessons.inbox import needs_lab

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["allow_delivery", "delivery_statement"]

#: Who delivers for each kind of sender ARN (the principal a receiver's policy must let in).
PRINCIPALS = {"sns": "sns.amazonaws.com", "events": "events.amazonaws.com"}
#: What the sender calls on each kind of receiver.
ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def _look_up(table: dict[str, str], arn: str, expected: str, hint: str) -> str:
    """What `table` says for the service of `arn`, or a LabError naming what was expected."""
    service = _service(arn)
    if service not in table:
        raise LabError(expected, repr(arn), hint)
    return table[service]


def sender_principal(sender_arn: str) -> str:
    """The AWS service principal that delivers for `sender_arn` (a topic, a bus or a rule).

    >>> sender_principal("arn:aws:events:us-east-1:123456789012:rule/shop/billing")
    'events.amazonaws.com'
    """
    return _look_up(
        PRINCIPALS,
        sender_arn,
        "the ARN of an SNS topic or an EventBridge bus or rule",
        "pass topic_arn from create_topic, or the rule's ARN from put_rule",
    )


def _sid(sender_arn: str) -> str:
    """A statement id for `sender_arn` (Lambda takes letters, digits, - and _ only)."""
    name = sender_arn.split(":", 5)[-1].replace("/", "-")
    return f"{_service(sender_arn)}-{name}-may-deliver"


def delivery_statement(sender_arn: str, receiver_arn: str) -> dict[str, Any]:
    """The policy statement that lets `sender_arn` deliver to `receiver_arn`.

    >>> delivery_statement("arn:aws:sns:us-east-1:123456789012:orders",
    ...                    "arn:aws:sqs:us-east-1:123456789012:billing")["Condition"]
    {'ArnEquals': {'aws:SourceArn': 'arn:aws:sns:us-east-1:123456789012:orders'}}
    """
    action = _look_up(
        ACTIONS,
        receiver_arn,
        "the ARN of a queue, a topic or a function to deliver to",
        "pass the QueueArn from get_queue_attributes, a topic_arn, or a function's arn",
    )
    return {
        "Sid": _sid(sender_arn),
        "Effect": "Allow",
        "Principal": {"Service": sender_principal(sender_arn)},
        "Action": action,
        "Resource": receiver_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": sender_arn}},
    }


def allow_delivery(lab: Lab, sender_arn: str, *receiver_arns: str) -> None:
    """Let `sender_arn` (a topic or rule) deliver to each receiver (a queue, topic or function)."""
    needs_lab(lab, "allow_delivery(lab, sender_arn, receiver_arn)")
    with lab.tracer.internal():
        for receiver in receiver_arns:
            statement = delivery_statement(sender_arn, receiver)
            service = _service(receiver)
            if service == "lambda":
                _permit_function(lab, statement)
            elif service == "sqs":
                sqs = lab.client("sqs")
                url = sqs.get_queue_url(QueueName=receiver.rsplit(":", 1)[-1])["QueueUrl"]
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                policy = _with(attrs.get("Attributes", {}).get("Policy"), statement)
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
            else:
                sns = lab.client("sns")
                attrs = sns.get_topic_attributes(TopicArn=receiver)["Attributes"]
                policy = _with(attrs.get("Policy"), statement)
                sns.set_topic_attributes(
                    TopicArn=receiver, AttributeName="Policy", AttributeValue=policy
                )


def _with(policy_text: str | None, statement: dict[str, Any]) -> str:
    """`policy_text` with `statement` in it (in place of one with the same Sid)."""
    policy = json.loads(policy_text) if policy_text else {"Version": "2012-10-17"}
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    policy["Statement"] = [s for s in statements if s.get("Sid") != statement["Sid"]]
    policy["Statement"].append(statement)
    return json.dumps(policy)


def _permit_function(lab: Lab, statement: dict[str, Any]) -> None:
    lam = lab.client("lambda")
    function = statement["Resource"]
    try:
        lam.remove_permission(FunctionName=function, StatementId=statement["Sid"])
    except lam.exceptions.ResourceNotFoundException:
        pass  # the first permission for this sender
    lam.add_permission(
        FunctionName=function,
        StatementId=statement["Sid"],
        Action=statement["Action"],
        Principal=statement["Principal"]["Service"],
        SourceArn=statement["Condition"]["ArnEquals"]["aws:SourceArn"],
    )
