"""Why a message or event did not arrive: the matcher's answer, from what the service holds.

The policy or pattern is read back from SNS or EventBridge, so the answer is the same on every
backend; the decision itself is `labkit.matcher`'s, the one the tracer and the checks use. A
message the filter lets through can still be refused by the endpoint's own policy (a queue's
access policy, a function's permissions): that answer names the statement or the condition.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from labkit.matcher import Request, Verdict, evaluate_policy, explain_filter, explain_pattern

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["why_not_delivered", "why_not_matched"]


def why_not_delivered(
    lab: Lab,
    *,
    subscription_arn: str,
    message: str = "",
    attributes: dict[str, Any] | None = None,
) -> Verdict:
    """Would SNS deliver this message through this subscription? Reads the policy from SNS.

    >>> import labkit
    >>> lab = labkit.start_lab()
    >>> sns, sqs = lab.client("sns"), lab.client("sqs")
    >>> topic = sns.create_topic(Name="orders")["TopicArn"]
    >>> queue = sqs.create_queue(QueueName="eu")["QueueUrl"]
    >>> arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    >>> sub = sns.subscribe(TopicArn=topic, Protocol="sqs",
    ...     Endpoint=arn["Attributes"]["QueueArn"],
    ...     Attributes={"FilterPolicy": '{"region": ["eu"]}'})["SubscriptionArn"]
    >>> why_not_delivered(lab, subscription_arn=sub, message="hi",
    ...     attributes={"region": {"DataType": "String", "StringValue": "us"}}).matched
    False
    >>> lab.stop()
    """
    sns = lab.client("sns")
    found = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    policy = found.get("FilterPolicy")
    if policy:
        scope = found.get("FilterPolicyScope") or "MessageAttributes"
        verdict = explain_filter(policy, scope=scope, body=message, attributes=attributes or {})
        if not verdict:
            return verdict
    else:
        verdict = Verdict(
            True, ("The subscription has no filter policy: it receives every message.",)
        )
    with lab.tracer.internal():
        refusal = _refused(lab, found["TopicArn"], found.get("Protocol", ""), found["Endpoint"])
    if refusal:
        return Verdict(False, (refusal,))
    if found["Endpoint"] in lab.unavailable():
        return Verdict(
            False,
            (
                f"The endpoint {found['Endpoint']} is unavailable (the lab took it down): a "
                "server-side error, which SNS retries under the protocol's delivery policy. It "
                "gets the message once it is back, unless the retries run out first; then the "
                "subscription's dead-letter queue gets it, or nobody.",
            ),
        )
    return verdict


#: what SNS calls on each kind of endpoint whose policy it needs
_ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction"}


def _refused(lab: Lab, topic: str, protocol: str, endpoint: str) -> str:
    """Why the endpoint's policy refuses the topic ("" when it lets it in, or keeps none)."""
    if protocol not in _ACTIONS:
        return ""
    name = endpoint.rsplit(":", 1)[-1]
    kind = "queue" if protocol == "sqs" else "function"
    try:
        if protocol == "sqs":
            sqs = lab.client("sqs")
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            policy = answer.get("Attributes", {}).get("Policy")
        else:
            lam = lab.client("lambda")
            lam.get_function(FunctionName=endpoint)
            try:
                policy = json.loads(lam.get_policy(FunctionName=endpoint)["Policy"])
            except lam.exceptions.ResourceNotFoundException:
                policy = None  # a function without permissions
    except ClientError:
        return (
            f"The {kind} {name!r} does not exist: SNS cannot deliver to it, and does not retry "
            "(a client-side error)."
        )
    request = Request(
        "sns.amazonaws.com",
        _ACTIONS[protocol],
        endpoint,
        {"aws:SourceArn": topic, "aws:SourceAccount": topic.split(":")[4]},
    )
    decision = evaluate_policy(policy, request)
    if decision.allowed:
        return ""
    return (
        f"The {kind} {name!r} does not let the topic deliver: {decision.reason}. Its policy needs "
        f"a statement letting sns.amazonaws.com call {_ACTIONS[protocol]} with aws:SourceArn "
        f"{topic} (and no Deny that covers it)."
    )


def why_not_matched(
    lab: Lab, *, rule: str, event_bus: str = "default", event: dict[str, Any]
) -> Verdict:
    """Would this rule match this event? Reads the rule's pattern from EventBridge.

    `event` is the event as a rule sees it (source, detail-type, detail, ...); `account`,
    `region` and `time` are filled in from the lab when missing.
    """
    answer = lab.client("events").describe_rule(Name=rule, EventBusName=event_bus)
    pattern = answer.get("EventPattern")
    if not pattern:
        return Verdict(
            False,
            (
                f"The rule {rule!r} has no event pattern (it runs on a schedule), "
                "so no event matches it.",
            ),
        )
    if answer.get("State", "ENABLED") != "ENABLED":
        return Verdict(
            False,
            (f"The rule {rule!r} is disabled: enable it with events.enable_rule(Name={rule!r}).",),
        )
    full = {
        "version": "0",
        "account": answer.get("Arn", "::::123456789012").split(":")[4],
        "region": lab.region,
        "time": lab.clock.now(),
        "resources": [],
        **event,
    }
    return explain_pattern(pattern, full)
