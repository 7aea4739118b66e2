"""Write the topology a lab built as the equivalent Terraform for the AWS provider.

The export reads everything back from the services (so it works on every backend): queues with
their redrive policies, topics, subscriptions with filter policies, event buses, rules, targets
with input transformers, state machines and tables. Wherever one resource names another (a
dead-letter queue's ARN, a subscription's queue, a rule's target, a queue URL inside a state
machine), the export writes a Terraform reference instead of the literal, so `terraform plan`
sees the dependencies.

>>> from labkit import Lab
>>> with Lab() as lab:
...     _ = lab.client("sqs").create_queue(QueueName="orders")
...     print(export(lab).split("resource ")[1].strip())
"aws_sqs_queue" "orders" {
  name = "orders"
}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["export", "hcl_value", "resources"]

QUEUE_ATTRIBUTES = {  # SQS attribute -> (terraform argument, default AWS applies)
    "VisibilityTimeout": ("visibility_timeout_seconds", "30"),
    "DelaySeconds": ("delay_seconds", "0"),
    "MessageRetentionPeriod": ("message_retention_seconds", "345600"),
    "ReceiveMessageWaitTimeSeconds": ("receive_wait_time_seconds", "0"),
    "MaximumMessageSize": ("max_message_size", "1048576"),
}
SUBSCRIPTION_FLAGS = {"RawMessageDelivery": "raw_message_delivery"}


@dataclass
class _Names:
    """Terraform names for AWS resources, unique per resource type."""

    taken: dict[str, set[str]] = field(default_factory=dict)

    def make(self, rtype: str, wanted: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "_", wanted.lower().removesuffix(".fifo")).strip("_")
        if wanted.lower().endswith(".fifo"):
            base = f"{base}_fifo"
        if not base or base[0].isdigit():
            base = f"r_{base}"
        used = self.taken.setdefault(rtype, set())
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name


class _Ref(str):
    """A Terraform expression written bare (not quoted)."""


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return text.replace("${", "$${").replace("%{", "%%{")


def hcl_value(value: Any, refs: dict[str, str], indent: int = 1) -> str:
    """A JSON-like value as an HCL expression; known ARNs and URLs become references.

    >>> hcl_value({"maxReceiveCount": 3, "dlq": "arn:x"}, {"arn:x": "aws_sqs_queue.dlq.arn"})
    '{\\n    "maxReceiveCount" = 3\\n    "dlq" = aws_sqs_queue.dlq.arn\\n  }'
    """
    pad = "  " * indent
    if isinstance(value, _Ref):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        if value in refs:
            return refs[value]
        return f'"{_escape(value)}"'
    if isinstance(value, list):
        if not value:
            return "[]"
        items = ", ".join(hcl_value(v, refs, indent + 1) for v in value)
        return f"[{items}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [
            f'{pad}  "{_escape(str(k))}" = {hcl_value(v, refs, indent + 1)}'
            for k, v in value.items()
        ]
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


class _Writer:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.names = _Names()
        self.refs: dict[str, str] = {}  # literal ARN / URL / name -> Terraform reference
        self.blocks: list[str] = []

    def resource(
        self, rtype: str, name: str, args: list[tuple[str, Any]], nested: str = ""
    ) -> None:
        lines = [f'resource "{rtype}" "{name}" {{']
        for key, value in args:
            lines.append(f"  {key} = {self._expr(value)}")
        if nested:
            lines.append(nested)
        lines.append("}")
        self.blocks.append("\n".join(lines))

    def _expr(self, value: Any) -> str:
        if isinstance(value, _Ref):
            return str(value)
        if isinstance(value, dict | list) and not isinstance(value, _Ref):
            return f"jsonencode({hcl_value(value, self.refs)})"
        return hcl_value(value, self.refs)

    # -- reading the lab ---------------------------------------------------------------------
    def queues(self) -> list[dict[str, Any]]:
        sqs = self.lab.client("sqs")
        found = []
        for url in sorted(sqs.list_queues().get("QueueUrls", [])):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            qname = url.rsplit("/", 1)[1]
            name = self.names.make("aws_sqs_queue", qname)
            self.refs[attrs["QueueArn"]] = f"aws_sqs_queue.{name}.arn"
            self.refs[url] = f"aws_sqs_queue.{name}.url"
            found.append({"name": name, "qname": qname, "url": url, "attrs": attrs})
        return found

    def write_queues(self, queues: list[dict[str, Any]]) -> None:
        for q in queues:
            attrs = q["attrs"]
            args: list[tuple[str, Any]] = [("name", q["qname"])]
            if attrs.get("FifoQueue") == "true":
                args.append(("fifo_queue", True))
                if attrs.get("ContentBasedDeduplication") == "true":
                    args.append(("content_based_deduplication", True))
            for attr, (arg, default) in QUEUE_ATTRIBUTES.items():
                if attr in attrs and attrs[attr] != default:
                    args.append((arg, int(attrs[attr])))
            if "RedrivePolicy" in attrs:
                policy = json.loads(attrs["RedrivePolicy"])
                policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
                args.append(("redrive_policy", policy))
            self.resource("aws_sqs_queue", q["name"], args)

    def topics(self) -> list[dict[str, Any]]:
        sns = self.lab.client("sns")
        found = []
        for topic in sorted(t["TopicArn"] for t in sns.list_topics().get("Topics", [])):
            attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
            tname = topic.rsplit(":", 1)[1]
            name = self.names.make("aws_sns_topic", tname)
            self.refs[topic] = f"aws_sns_topic.{name}.arn"
            found.append({"name": name, "tname": tname, "arn": topic, "attrs": attrs})
        return found

    def write_topics(self, topics: list[dict[str, Any]]) -> None:
        sns = self.lab.client("sns")
        for t in topics:
            args: list[tuple[str, Any]] = [("name", t["tname"])]
            if t["attrs"].get("FifoTopic") == "true":
                args.append(("fifo_topic", True))
                if t["attrs"].get("ContentBasedDeduplication") == "true":
                    args.append(("content_based_deduplication", True))
            self.resource("aws_sns_topic", t["name"], args)
        queue_sources: dict[str, list[str]] = {}
        for t in topics:
            subs = sns.list_subscriptions_by_topic(TopicArn=t["arn"]).get("Subscriptions", [])
            for sub in sorted(subs, key=lambda s: (s["Protocol"], s["Endpoint"])):
                arn = sub["SubscriptionArn"]
                attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                endpoint = sub["Endpoint"]
                base = f"{t['name']}_to_{endpoint.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}"
                name = self.names.make("aws_sns_topic_subscription", base)
                args = [
                    ("topic_arn", _Ref(f"aws_sns_topic.{t['name']}.arn")),
                    ("protocol", sub["Protocol"]),
                    ("endpoint", endpoint),
                ]
                for attr, arg in SUBSCRIPTION_FLAGS.items():
                    if attrs.get(attr) == "true":
                        args.append((arg, True))
                if attrs.get("FilterPolicy"):
                    args.append(("filter_policy", json.loads(attrs["FilterPolicy"])))
                    scope = attrs.get("FilterPolicyScope", "MessageAttributes")
                    if scope != "MessageAttributes":
                        args.append(("filter_policy_scope", scope))
                self.resource("aws_sns_topic_subscription", name, args)
                if sub["Protocol"] == "sqs" and endpoint in self.refs:
                    queue_sources.setdefault(endpoint, []).append(t["arn"])
        self.write_queue_policies(queue_sources)

    def write_queue_policies(self, sources: dict[str, list[str]]) -> None:
        """The queue policy AWS requires before SNS may deliver to a queue."""
        for queue_arn, topic_arns in sources.items():
            queue_ref = self.refs[queue_arn]
            qname = queue_ref.split(".")[1]
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AllowSnsTopics",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                    }
                ],
            }
            name = self.names.make("aws_sqs_queue_policy", f"{qname}_from_sns")
            self.resource(
                "aws_sqs_queue_policy",
                name,
                [("queue_url", _Ref(f"aws_sqs_queue.{qname}.id")), ("policy", policy)],
            )

    def buses_and_rules(self) -> None:
        events = self.lab.client("events")
        buses = sorted(b["Name"] for b in events.list_event_buses().get("EventBuses", []))
        bus_names: dict[str, str] = {}
        for bus in buses:
            if bus == "default":
                continue
            name = self.names.make("aws_cloudwatch_event_bus", bus)
            bus_names[bus] = name
            arn = events.describe_event_bus(Name=bus)["Arn"]
            self.refs[arn] = f"aws_cloudwatch_event_bus.{name}.arn"
            self.resource("aws_cloudwatch_event_bus", name, [("name", bus)])
        pending_targets: list[tuple[str, str, str, dict[str, Any]]] = []
        for bus in buses:
            for rule in sorted(
                events.list_rules(EventBusName=bus).get("Rules", []), key=lambda r: r["Name"]
            ):
                name = self.names.make("aws_cloudwatch_event_rule", rule["Name"])
                args: list[tuple[str, Any]] = [("name", rule["Name"])]
                if bus != "default":
                    args.append(
                        ("event_bus_name", _Ref(f"aws_cloudwatch_event_bus.{bus_names[bus]}.name"))
                    )
                if rule.get("EventPattern"):
                    args.append(("event_pattern", json.loads(rule["EventPattern"])))
                if rule.get("ScheduleExpression"):
                    args.append(("schedule_expression", rule["ScheduleExpression"]))
                if rule.get("State") == "DISABLED":
                    args.append(("state", "DISABLED"))
                self.resource("aws_cloudwatch_event_rule", name, args)
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)
                for target in sorted(targets.get("Targets", []), key=lambda t: t["Id"]):
                    pending_targets.append((name, bus, bus_names.get(bus, ""), target))
        self._pending_targets = pending_targets

    def write_targets(self) -> None:
        for rule_name, bus, bus_tf, target in self._pending_targets:
            name = self.names.make("aws_cloudwatch_event_target", f"{rule_name}_{target['Id']}")
            args: list[tuple[str, Any]] = [
                ("rule", _Ref(f"aws_cloudwatch_event_rule.{rule_name}.name")),
                ("target_id", target["Id"]),
                ("arn", target["Arn"]),
            ]
            if bus != "default":
                args.insert(1, ("event_bus_name", _Ref(f"aws_cloudwatch_event_bus.{bus_tf}.name")))
            if target.get("RoleArn"):
                args.append(("role_arn", target["RoleArn"]))
            nested = []
            transformer = target.get("InputTransformer")
            if transformer:
                inner = []
                if transformer.get("InputPathsMap"):
                    paths = hcl_value(transformer["InputPathsMap"], {}, 2)
                    inner.append(f"    input_paths = {paths}")
                inner.append(f"    input_template = {hcl_value(transformer['InputTemplate'], {})}")
                nested.append("  input_transformer {\n" + "\n".join(inner) + "\n  }")
            group = target.get("SqsParameters", {}).get("MessageGroupId")
            if group:
                nested.append(
                    f"  sqs_target {{\n    message_group_id = {hcl_value(group, {})}\n  }}"
                )
            self.resource("aws_cloudwatch_event_target", name, args, "\n".join(nested))

    def state_machines(self) -> None:
        sfn = self.lab.client("stepfunctions")
        machines = sfn.list_state_machines().get("stateMachines", [])
        for sm in sorted(machines, key=lambda m: m["name"]):
            described = sfn.describe_state_machine(stateMachineArn=sm["stateMachineArn"])
            name = self.names.make("aws_sfn_state_machine", sm["name"])
            self.refs[sm["stateMachineArn"]] = f"aws_sfn_state_machine.{name}.arn"
            self._machines.append((name, sm["name"], described))

    def write_state_machines(self) -> None:
        for name, sm_name, described in self._machines:
            self.resource(
                "aws_sfn_state_machine",
                name,
                [
                    ("name", sm_name),
                    ("role_arn", described["roleArn"]),
                    ("definition", json.loads(described["definition"])),
                ],
            )

    def tables(self) -> None:
        ddb = self.lab.client("dynamodb")
        for table in sorted(ddb.list_tables().get("TableNames", [])):
            desc = ddb.describe_table(TableName=table)["Table"]
            name = self.names.make("aws_dynamodb_table", table)
            self.refs[desc["TableArn"]] = f"aws_dynamodb_table.{name}.arn"
            keys = {k["KeyType"]: k["AttributeName"] for k in desc["KeySchema"]}
            args: list[tuple[str, Any]] = [
                ("name", table),
                ("billing_mode", "PAY_PER_REQUEST"),
                ("hash_key", keys["HASH"]),
            ]
            if "RANGE" in keys:
                args.append(("range_key", keys["RANGE"]))
            attributes = "\n".join(
                f'  attribute {{\n    name = "{a["AttributeName"]}"\n'
                f'    type = "{a["AttributeType"]}"\n  }}'
                for a in desc["AttributeDefinitions"]
            )
            self.resource("aws_dynamodb_table", name, args, attributes)

    def write(self) -> str:
        self._machines: list[tuple[str, str, dict[str, Any]]] = []
        queues = self.queues()
        topics = self.topics()
        self.tables()
        self.state_machines()
        self.buses_and_rules()
        self.write_queues(queues)
        self.write_topics(topics)
        self.write_state_machines()
        self.write_targets()
        header = (
            "terraform {\n  required_providers {\n    aws = {\n"
            '      source  = "hashicorp/aws"\n      version = "~> 5.0"\n    }\n  }\n}\n\n'
            f'provider "aws" {{\n  region = "{self.lab.region}"\n}}'
        )
        return "\n\n".join([header, *self.blocks]) + "\n"


def export(lab: Lab) -> str:
    """The lab's messaging topology as Terraform (HCL) text."""
    return _Writer(lab).write()


def resources(hcl: str) -> dict[str, str]:
    """The resource blocks of an export by Terraform address, in the order they were written.

    A lesson shows a few blocks of a long export with it: ``resources(export(lab))`` lists the
    addresses, and ``resources(export(lab))["aws_sqs_queue.orders"]`` is one block as text.

    >>> text = 'resource "aws_sqs_queue" "orders" {\\n  name = "orders"\\n}\\n'
    >>> found = resources(text)
    >>> list(found)
    ['aws_sqs_queue.orders']
    >>> print(found["aws_sqs_queue.orders"])
    resource "aws_sqs_queue" "orders" {
      name = "orders"
    }
    """
    found: dict[str, str] = {}
    for block in hcl.split("\n\n"):
        match = re.match(r'resource "([^"]+)" "([^"]+)" \{', block)
        if match:
            found[f"{match[1]}.{match[2]}"] = block.strip("\n")
    return found
