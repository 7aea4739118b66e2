"""Read what a lab built back from the services and write it as Terraform for the AWS provider.

Everything is read through the lab's clients (so it works on every backend): queues with their
attributes, redrive and policies; topics with their policies; subscriptions with filter policy,
scope, raw delivery and redrive; buses, rules and targets (input transformers, retry policies,
dead-letter queues, roles); state machines and their roles; IAM roles with their policies;
DynamoDB tables; and the functions the lab's runtime runs, with their execution roles, event
source mappings, permissions and handler sources.

Where one resource names another (a dead-letter queue's ARN, a queue URL inside a state machine,
a table's name in a Task state) the file holds a Terraform reference, so ``terraform plan`` sees
the dependencies; the account id and region are never written: ARNs the lab does not own are
built from ``data.aws_caller_identity`` and ``data.aws_region``. Names carry ``var.prefix``.
Where the flow needs a permission the lab does not hold (SNS or EventBridge delivering to a
queue, EventBridge publishing to a topic or invoking a function, a state machine calling its
tasks, a rule starting a state machine), the export writes the least-privilege one the AWS
documentation gives (see ``policies``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from labkit.tools.terraform import policies
from labkit.tools.terraform.handlers import HandlerModule, extract
from labkit.tools.terraform.hcl import Block, Comment, Expr, Template, quote, render_value

#: what a function's role must allow for Lambda to send a record to an on-failure destination
_DESTINATION_ACTIONS = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
}

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["Export", "build"]

AWS_PROVIDER = "~> 6.0"
ARCHIVE_PROVIDER = "~> 2.0"
LAMBDA_RUNTIME = "python3.13"
ACCOUNT = Expr("data.aws_caller_identity.current.account_id")
REGION = Expr("data.aws_region.current.region")
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
DYNAMODB_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"

QUEUE_ATTRIBUTES = {  # SQS attribute -> (terraform argument, the default AWS applies)
    "VisibilityTimeout": ("visibility_timeout_seconds", "30"),
    "DelaySeconds": ("delay_seconds", "0"),
    "MessageRetentionPeriod": ("message_retention_seconds", "345600"),
    "ReceiveMessageWaitTimeSeconds": ("receive_wait_time_seconds", "0"),
    "MaximumMessageSize": ("max_message_size", "1048576"),
}
FIFO_QUEUE_ATTRIBUTES = {
    "DeduplicationScope": ("deduplication_scope", "queue"),
    "FifoThroughputLimit": ("fifo_throughput_limit", "perQueue"),
}
#: checkov checks the export leaves failing on purpose, by resource type, with the reason
SKIPS: dict[str, list[tuple[str, str]]] = {
    "aws_sns_topic": [
        (
            "CKV_AWS_26",
            "unencrypted like the lab's topic; a KMS key would need a key policy for every "
            "publishing service",
        ),
    ],
    "aws_dynamodb_table": [
        ("CKV_AWS_28", "a course table: point-in-time recovery is billed and not needed"),
        ("CKV_AWS_119", "encrypted with the AWS owned key, DynamoDB's default"),
    ],
    "aws_sfn_state_machine": [
        ("CKV_AWS_284", "X-Ray tracing is optional; the workbook traces flows in the lab"),
        ("CKV_AWS_285", "execution history is in the Step Functions console; no log group"),
    ],
    "aws_lambda_function": [
        ("CKV_AWS_50", "X-Ray tracing is optional; the workbook traces flows in the lab"),
        ("CKV_AWS_117", "the function calls only AWS APIs, so it runs outside a VPC"),
        ("CKV_AWS_272", "code signing is for production pipelines, not a course deployment"),
        (
            "CKV_AWS_115",
            "reserved concurrency needs 100 unreserved executions left in the account",
        ),
    ],
}
LAMBDA_NO_DLQ = ("CKV_AWS_116", "the lab's function has no dead-letter queue")
LAMBDA_ENVIRONMENT = ("CKV_AWS_173", "the variables hold resource names, not secrets")


def _tf_name(wanted: str) -> str:
    base = re.sub(r"[^a-z0-9_]", "_", wanted.lower().removesuffix(".fifo")).strip("_")
    if wanted.lower().endswith(".fifo"):
        base = f"{base}_fifo"
    return base if base and not base[0].isdigit() else f"r_{base}"


@dataclass
class _Names:
    """Terraform names for AWS resources, unique per resource type."""

    taken: dict[str, set[str]] = field(default_factory=dict)

    def make(self, rtype: str, wanted: str) -> str:
        base = _tf_name(wanted)
        used = self.taken.setdefault(rtype, set())
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name


@dataclass
class _Role:
    """An IAM role the export writes: the lab's own, or one the flow needs."""

    tf: str
    name: str
    service: str
    held: dict[str, Any] | None = None  # the lab's role: trust, inline and managed policies
    needs: list[tuple[str, Any]] = field(default_factory=list)  # (action, resource expression)
    managed: list[str] = field(default_factory=list)  # AWS managed policy ARNs to attach
    notes: list[str] = field(default_factory=list)  # comments for the reader of the role
    #: blocks AWS checks the role's permissions for when it creates them (an event source
    #: mapping, a function with a dead-letter queue): they wait for the role's policies
    waiting: list[Block] = field(default_factory=list)


@dataclass
class Export:
    """The export's result: the Terraform text and the handler sources beside it."""

    main_tf: str
    handlers: dict[str, str]  # file name -> module source

    def files(self) -> dict[str, str]:
        """Every file of the Terraform folder, by path relative to it."""
        return {"main.tf": self.main_tf, **{f"handlers/{n}": s for n, s in self.handlers.items()}}


class _Writer:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.names = _Names()
        self.refs: dict[str, Expr] = {}  # the lab's literal (ARN, URL, name) -> reference
        self.arns: dict[str, Expr] = {}  # the lab's literal -> reference to the resource's ARN
        self.account = ""
        self.region = lab.region
        self.used_account = self.used_region = False
        self.strip = lab.prefix if lab.backend.name == "aws" else ""
        self.blocks: dict[str, list[Block]] = {}
        self.handlers: dict[str, str] = {}
        self.queue_needs: dict[str, dict[tuple[str, str], list[Any]]] = {}
        self.topic_needs: dict[str, set[str]] = {}
        self.lambda_needs: dict[str, list[tuple[str, Any]]] = {}
        self.roles: dict[str, _Role] = {}

    # -- literals -------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        """A value read from the lab, with its ARNs, URLs, account id and region as expressions."""
        if isinstance(value, Expr | Template):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def text(self, text: str) -> Any:
        if text in self.refs:
            return self.refs[text]
        if not (self.account and self.account in text) and self.region not in text:
            return text
        pieces = re.split(f"({re.escape(self.account) if self.account else '$^'}|"
                          f"{re.escape(self.region)})", text)  # fmt: skip
        out = []
        for piece in pieces:
            if piece and piece == self.account:
                self.used_account = True
                out.append(f"${{{ACCOUNT}}}")
            elif piece == self.region:
                self.used_region = True
                out.append(f"${{{REGION}}}")
            else:
                out.append(quote(piece)[1:-1])
        return Template('"' + "".join(out) + '"')

    def arn_of(self, literal: str) -> Any:
        """A reference to the ARN of the lab's resource named by `literal`, else the literal."""
        return self.arns.get(literal) or self.value(literal)

    def is_lab_literal(self, text: str) -> bool:
        return text in self.refs or bool(self.account and self.account in text)

    def name_of(self, name: str) -> Template:
        """A resource's name as written: ``var.prefix`` and the lab's name."""
        return Template('"${var.prefix}' + quote(name.removeprefix(self.strip))[1:-1] + '"')

    def add(self, rtype: str, name: str, block: Block | None = None) -> Block:
        block = block or Block("resource", (rtype, name))
        for check, reason in SKIPS.get(rtype, []):
            block.comment(f"checkov:skip={check}:{reason}")
        self.blocks.setdefault(rtype, []).append(block)
        return block

    def register(
        self, literal: str, rtype: str, name: str, attr: str, *, arn: bool = False
    ) -> None:
        self.refs[literal] = Expr(f"{rtype}.{name}.{attr}")
        self.arns[literal] = Expr(f"{rtype}.{name}.arn")
        if arn:
            self.arns[literal] = self.refs[literal]

    # -- reading -----------------------------------------------------------------------------
    def read(self) -> None:
        self.account = self._account()
        self.queues = self._queues()
        self.topics = self._topics()
        self.tables = self._tables()
        self.functions = self._functions()
        self.machines = self._machines()
        self.buses, self.rules = self._buses_and_rules()
        self.subscriptions = self._subscriptions()
        self.archives = self._archives()

    def _account(self) -> str:
        """The account the lab's resources live in (moto's fixed one on a mock)."""
        return str(self.lab.client("sts").get_caller_identity()["Account"])

    def _queues(self) -> list[dict[str, Any]]:
        sqs = self.lab.client("sqs")
        found = []
        for url in sorted(sqs.list_queues().get("QueueUrls", [])):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            qname = url.rsplit("/", 1)[1]
            name = self.names.make("aws_sqs_queue", qname.removeprefix(self.strip))
            self.register(attrs["QueueArn"], "aws_sqs_queue", name, "arn", arn=True)
            self.register(url, "aws_sqs_queue", name, "url")
            found.append({"tf": name, "name": qname, "url": url, "attrs": attrs})
        return found

    def _topics(self) -> list[dict[str, Any]]:
        sns = self.lab.client("sns")
        found = []
        for arn in sorted(t["TopicArn"] for t in sns.list_topics().get("Topics", [])):
            attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            tname = arn.rsplit(":", 1)[1]
            name = self.names.make("aws_sns_topic", tname.removeprefix(self.strip))
            self.register(arn, "aws_sns_topic", name, "arn", arn=True)
            found.append({"tf": name, "name": tname, "arn": arn, "attrs": attrs})
        return found

    def _tables(self) -> list[dict[str, Any]]:
        ddb = self.lab.client("dynamodb")
        found = []
        for table in sorted(ddb.list_tables().get("TableNames", [])):
            desc = ddb.describe_table(TableName=table)["Table"]
            name = self.names.make("aws_dynamodb_table", table.removeprefix(self.strip))
            self.register(desc["TableArn"], "aws_dynamodb_table", name, "arn", arn=True)
            self.arns[f"table:{table}"] = Expr(f"aws_dynamodb_table.{name}.arn")
            if desc.get("LatestStreamArn"):
                self.arns[desc["LatestStreamArn"]] = Expr(f"aws_dynamodb_table.{name}.stream_arn")
            ttl = ddb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                desc = {**desc, "TimeToLiveAttribute": ttl.get("AttributeName", "")}
            found.append({"tf": name, "name": table, "desc": desc})
        return found

    def _functions(self) -> list[dict[str, Any]]:
        found = []
        self.lab.functions.follow_lambda_mappings()
        for fn in self.lab.functions.functions:
            name = self.names.make("aws_lambda_function", fn.name.removeprefix(self.strip))
            self.register(fn.arn, "aws_lambda_function", name, "arn", arn=True)
            self.refs[f"function:{fn.name}"] = Expr(f"aws_lambda_function.{name}.function_name")
            self.arns[f"function:{fn.name}"] = self.arns[fn.arn]
            found.append({"tf": name, "fn": fn})
        return found

    def _machines(self) -> list[dict[str, Any]]:
        sfn = self.lab.client("stepfunctions")
        found = []
        machines = sfn.list_state_machines().get("stateMachines", [])
        for sm in sorted(machines, key=lambda m: m["name"]):
            described = sfn.describe_state_machine(stateMachineArn=sm["stateMachineArn"])
            name = self.names.make("aws_sfn_state_machine", sm["name"].removeprefix(self.strip))
            self.register(sm["stateMachineArn"], "aws_sfn_state_machine", name, "arn", arn=True)
            role = self.role_for(described["roleArn"], "states.amazonaws.com")
            found.append({"tf": name, "name": sm["name"], "desc": described, "role": role})
        return found

    def _buses_and_rules(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        events = self.lab.client("events")
        buses, rules = [], []
        for bus in sorted(b["Name"] for b in events.list_event_buses().get("EventBuses", [])):
            arn = events.describe_event_bus(Name=bus)["Arn"]
            if bus != "default":
                name = self.names.make("aws_cloudwatch_event_bus", bus.removeprefix(self.strip))
                self.register(arn, "aws_cloudwatch_event_bus", name, "arn", arn=True)
                self.refs[f"bus:{bus}"] = Expr(f"aws_cloudwatch_event_bus.{name}.name")
                self.arns[f"bus:{bus}"] = self.arns[arn]
                buses.append({"tf": name, "name": bus})
            for rule in sorted(
                events.list_rules(EventBusName=bus).get("Rules", []), key=lambda r: r["Name"]
            ):
                if rule.get("ManagedBy"):
                    continue  # made by the service for an archive: the archive is exported
                rname = self.names.make("aws_cloudwatch_event_rule", rule["Name"])
                self.register(rule["Arn"], "aws_cloudwatch_event_rule", rname, "arn", arn=True)
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)
                rules.append(
                    {
                        "tf": rname,
                        "rule": rule,
                        "bus": bus,
                        "targets": sorted(targets.get("Targets", []), key=lambda t: t["Id"]),
                    }
                )
        return buses, rules

    def _archives(self) -> list[dict[str, Any]]:
        events = self.lab.client("events")
        found = []
        for archive in sorted(
            events.list_archives().get("Archives", []), key=lambda a: a["ArchiveName"]
        ):
            described = events.describe_archive(ArchiveName=archive["ArchiveName"])
            name = self.names.make("aws_cloudwatch_event_archive", archive["ArchiveName"])
            found.append({"tf": name, "desc": described})
        return found

    def _subscriptions(self) -> list[dict[str, Any]]:
        sns = self.lab.client("sns")
        found = []
        for topic in self.topics:
            subs = sns.list_subscriptions_by_topic(TopicArn=topic["arn"]).get("Subscriptions", [])
            for sub in sorted(subs, key=lambda s: (s["Protocol"], s["Endpoint"])):
                arn = sub["SubscriptionArn"]
                attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                end = sub["Endpoint"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
                name = self.names.make(
                    "aws_sns_topic_subscription",
                    f"{topic['tf']}_to_{end.removeprefix(self.strip)}",
                )
                found.append({"tf": name, "topic": topic, "sub": sub, "attrs": attrs})
        return found

    # -- IAM -------------------------------------------------------------------------------
    def role_for(self, arn: str, service: str) -> _Role:
        """The role at `arn`: the lab's own when IAM holds it, else one the export writes."""
        if arn in self.roles:
            return self.roles[arn]
        role_name = arn.rsplit("/", 1)[-1]
        tf = self.names.make("aws_iam_role", role_name.removeprefix(self.strip))
        role = _Role(tf, role_name, service, held=self._held_role(role_name))
        self.roles[arn] = role
        self.register(arn, "aws_iam_role", tf, "arn", arn=True)
        return role

    def _held_role(self, role_name: str) -> dict[str, Any] | None:
        iam = self.lab.client("iam")
        try:
            role = iam.get_role(RoleName=role_name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None
        inline = {
            p: iam.get_role_policy(RoleName=role_name, PolicyName=p)["PolicyDocument"]
            for p in iam.list_role_policies(RoleName=role_name).get("PolicyNames", [])
        }
        managed: dict[str, dict[str, Any] | None] = {}
        for policy in iam.list_attached_role_policies(RoleName=role_name).get(
            "AttachedPolicies", []
        ):
            parn = policy["PolicyArn"]
            if parn.startswith("arn:aws:iam::aws:"):
                managed[parn] = None  # an AWS managed policy: attached by its ARN
                continue
            version = iam.get_policy(PolicyArn=parn)["Policy"]["DefaultVersionId"]
            doc = iam.get_policy_version(PolicyArn=parn, VersionId=version)["PolicyVersion"]
            managed[parn] = _document(doc["Document"])
        trust = _document(role["AssumeRolePolicyDocument"])
        return {"trust": trust, "inline": inline, "managed": managed}

    # -- what the flow needs -----------------------------------------------------------------
    def needs(self) -> None:
        for sub in self.subscriptions:
            endpoint, protocol = sub["sub"]["Endpoint"], sub["sub"]["Protocol"]
            topic_arn = sub["topic"]["arn"]
            if protocol == "sqs" and endpoint in self.arns:
                self._queue_needs(endpoint, "sns.amazonaws.com", topic_arn)
            if protocol == "lambda" and endpoint in self.arns:
                self.lambda_needs.setdefault(endpoint, []).append(("sns.amazonaws.com", topic_arn))
            redrive = json.loads(sub["attrs"].get("RedrivePolicy") or "{}")
            if redrive.get("deadLetterTargetArn") in self.arns:
                self._queue_needs(redrive["deadLetterTargetArn"], "sns.amazonaws.com", topic_arn)
        for rule in self.rules:
            rule_arn = rule["rule"]["Arn"]
            for target in rule["targets"]:
                arn = target["Arn"]
                dlq = target.get("DeadLetterConfig", {}).get("Arn")
                if dlq in self.arns:
                    self._queue_needs(dlq, "events.amazonaws.com", rule_arn)
                if target.get("RoleArn"):
                    role = self.role_for(target["RoleArn"], "events.amazonaws.com")
                    role.needs.append((_target_action(arn), self.arn_of(arn)))
                # queues, topics and functions take EventBridge's deliveries by their resource
                # policies, which the EventBridge guide has for them even when a role is given
                if ":sqs:" in arn and arn in self.arns:
                    self._queue_needs(arn, "events.amazonaws.com", rule_arn)
                elif ":sns:" in arn and arn in self.arns:
                    self.topic_needs.setdefault(arn, set()).add(rule_arn)
                elif ":lambda:" in arn and arn in self.arns:
                    self.lambda_needs.setdefault(arn, []).append(("events.amazonaws.com", rule_arn))
        for machine in self.machines:
            definition = json.loads(machine["desc"]["definition"])
            for state in policies.machine_tasks(definition):
                for action, key, literal in policies.task_permissions(state):
                    machine["role"].needs.append((action, self._task_resource(key, literal)))

    def _queue_needs(self, queue_arn: str, service: str, source_arn: str) -> None:
        sources = self.queue_needs.setdefault(queue_arn, {}).setdefault(
            ("sqs:SendMessage", service), []
        )
        if source_arn not in sources:
            sources.append(source_arn)

    def _task_resource(self, key: str, literal: Any) -> Any:
        kinds = {
            "QueueUrl": ("sqs", "aws_sqs_queue"),
            "TopicArn": ("sns", "aws_sns_topic"),
            "TableName": ("dynamodb", "aws_dynamodb_table"),
            "FunctionName": ("lambda", "aws_lambda_function"),
            "StateMachineArn": ("states", "aws_sfn_state_machine"),
            "EventBusName": ("events", "aws_cloudwatch_event_bus"),
        }
        if isinstance(literal, str):
            for kind in ("", "table:", "bus:", "function:"):
                if kind + literal in self.arns:
                    return self.arns[kind + literal]
            if key == "EventBusName" and literal == "default":
                return self.value(f"arn:aws:events:{self.region}:{self.account}:event-bus/default")
            return self.value(literal)
        # computed at run time: every resource of that kind the lab has
        service, rtype = kinds.get(key, ("", ""))
        named = sorted({str(v) for v in self.arns.values() if str(v).startswith(rtype + ".")})
        if named:
            return [Expr(n) for n in named]
        return self.value(f"arn:aws:{service}:{self.region}:{self.account}:*")

    # -- writing -----------------------------------------------------------------------------
    def write(self) -> Export:
        self.read()
        self.needs()
        self._write_tables()
        self._write_queues()
        self._write_topics()
        self._write_subscriptions()
        self._write_functions()
        self._write_buses_and_rules()
        self._write_machines()
        self._write_roles()
        order = [
            "aws_dynamodb_table",
            "aws_sqs_queue",
            "aws_sqs_queue_policy",
            "aws_sns_topic",
            "aws_sns_topic_policy",
            "aws_sns_topic_subscription",
            "aws_iam_role",
            "aws_iam_policy",
            "aws_iam_role_policy",
            "aws_iam_role_policy_attachment",
            "archive_file",
            "aws_lambda_function",
            "aws_lambda_function_event_invoke_config",
            "aws_lambda_event_source_mapping",
            "aws_lambda_permission",
            "aws_cloudwatch_event_bus",
            "aws_cloudwatch_event_rule",
            "aws_cloudwatch_event_target",
            "aws_cloudwatch_event_archive",
            "aws_sfn_state_machine",
        ]
        body = [b for kind in order for b in self.blocks.get(kind, [])]
        header = self._header()
        text = "\n".join(block.text() for block in [*header, *body])
        return Export(text, self.handlers)

    def _header(self) -> list[Block]:
        terraform = Block("terraform")
        terraform.set("required_version", ">= 1.5")
        providers = terraform.nested("required_providers")
        providers.set("aws", {"source": "hashicorp/aws", "version": AWS_PROVIDER})
        if self.functions:
            providers.set("archive", {"source": "hashicorp/archive", "version": ARCHIVE_PROVIDER})
        provider = Block("provider", ("aws",))
        provider.comment("the region and credentials come from the environment (AWS_REGION,")
        provider.comment("AWS_PROFILE or AWS_ACCESS_KEY_ID...), as for the AWS CLI")
        prefix = Block("variable", ("prefix",))
        prefix.set("description", "put before every name, to keep these resources apart")
        prefix.set("type", Expr("string"))
        prefix.set("default", "lab-")
        blocks = [terraform, provider, prefix]
        if self.used_account:
            blocks.append(Block("data", ("aws_caller_identity", "current")))
        if self.used_region:
            blocks.append(Block("data", ("aws_region", "current")))
        return blocks

    def _write_tables(self) -> None:
        for table in self.tables:
            desc = table["desc"]
            block = self.add("aws_dynamodb_table", table["tf"])
            keys = {k["KeyType"]: k["AttributeName"] for k in desc["KeySchema"]}
            block.set("name", self.name_of(table["name"]))
            block.set("billing_mode", "PAY_PER_REQUEST")
            block.set("hash_key", keys["HASH"])
            if "RANGE" in keys:
                block.set("range_key", keys["RANGE"])
            for attribute in desc["AttributeDefinitions"]:
                nested = block.nested("attribute")
                nested.set("name", attribute["AttributeName"])
                nested.set("type", attribute["AttributeType"])
            stream = desc.get("StreamSpecification") or {}
            if stream.get("StreamEnabled"):
                block.set("stream_enabled", True)
                block.set("stream_view_type", stream["StreamViewType"])
            if desc.get("TimeToLiveAttribute"):
                ttl = block.nested("ttl")
                ttl.set("attribute_name", desc["TimeToLiveAttribute"])
                ttl.set("enabled", True)

    def _write_queues(self) -> None:
        sqs_policies: list[Block] = []
        for q in self.queues:
            attrs = q["attrs"]
            block = self.add("aws_sqs_queue", q["tf"])
            block.set("name", self.name_of(q["name"]))
            if attrs.get("FifoQueue") == "true":
                block.set("fifo_queue", True)
                if attrs.get("ContentBasedDeduplication") == "true":
                    block.set("content_based_deduplication", True)
                for attr, (arg, default) in FIFO_QUEUE_ATTRIBUTES.items():
                    if attrs.get(attr, default) != default:
                        block.set(arg, attrs[attr])
            for attr, (arg, default) in QUEUE_ATTRIBUTES.items():
                if attr in attrs and attrs[attr] != default:
                    block.set(arg, int(attrs[attr]))
            if attrs.get("KmsMasterKeyId"):
                block.set("kms_master_key_id", self.value(attrs["KmsMasterKeyId"]))
            elif attrs.get("SqsManagedSseEnabled") == "false":
                block.body.insert(0, _skip("CKV_AWS_27", "the lab's queue has encryption off"))
                block.set("sqs_managed_sse_enabled", False)
            else:
                block.set("sqs_managed_sse_enabled", True)  # SSE-SQS, on by default on AWS
            if "RedrivePolicy" in attrs:
                redrive = json.loads(attrs["RedrivePolicy"])
                redrive["maxReceiveCount"] = int(redrive["maxReceiveCount"])
                block.set("redrive_policy", self.jsonencode(redrive))
            if attrs.get("RedriveAllowPolicy"):
                allow = json.loads(attrs["RedriveAllowPolicy"])
                block.set("redrive_allow_policy", self.jsonencode(allow))
            held = json.loads(attrs.get("Policy") or "{}")
            statements = list(policies.as_list(held.get("Statement", [])))
            for (action, service), sources in self.queue_needs.get(attrs["QueueArn"], {}).items():
                granted = policies.grants([held], action, service) if held else None
                missing = [s for s in sources if granted is None or (granted and s not in granted)]
                if missing:
                    sid = "From" + service.split(".")[0].capitalize()
                    statements.append(
                        policies.statement(action, service, attrs["QueueArn"], missing, sid)
                    )
            if statements:
                doc = {k: v for k, v in held.items() if k != "Statement"} or {
                    "Version": policies.VERSION
                }
                doc["Statement"] = statements
                name = self.names.make("aws_sqs_queue_policy", q["tf"])
                policy = Block("resource", ("aws_sqs_queue_policy", name))
                policy.set("queue_url", Expr(f"aws_sqs_queue.{q['tf']}.id"))
                policy.set("policy", self.jsonencode(doc))
                sqs_policies.append(policy)
        self.blocks.setdefault("aws_sqs_queue_policy", []).extend(sqs_policies)

    def _write_topics(self) -> None:
        for t in self.topics:
            attrs = t["attrs"]
            block = self.add("aws_sns_topic", t["tf"])
            block.set("name", self.name_of(t["name"]))
            if attrs.get("DisplayName"):
                block.set("display_name", attrs["DisplayName"])
            if attrs.get("FifoTopic") == "true":
                block.set("fifo_topic", True)
                if attrs.get("ContentBasedDeduplication") == "true":
                    block.set("content_based_deduplication", True)
            if attrs.get("DeliveryPolicy"):
                block.set("delivery_policy", self.jsonencode(json.loads(attrs["DeliveryPolicy"])))
            held = json.loads(attrs.get("Policy") or "{}")
            own = [
                st
                for st in policies.as_list(held.get("Statement", []))
                if st.get("Sid") != "__default_statement_ID"
            ]
            statements = list(own)
            if t["arn"] in self.topic_needs:
                granted = policies.grants([held], "sns:Publish", "events.amazonaws.com")
                if granted is None:
                    # the EventBridge guide's statement: SNS takes no condition for EventBridge
                    statements.append(
                        policies.statement(
                            "sns:Publish", "events.amazonaws.com", t["arn"], None, "FromEvents"
                        )
                    )
            if statements:
                # the lab's own statements keep their policy's version; new ones are written
                # in the current policy language
                version = held.get("Version", policies.VERSION) if own else policies.VERSION
                doc = {"Version": version, "Statement": statements}
                name = self.names.make("aws_sns_topic_policy", t["tf"])
                policy = self.add("aws_sns_topic_policy", name)
                policy.set("arn", Expr(f"aws_sns_topic.{t['tf']}.arn"))
                policy.set("policy", self.jsonencode(doc))

    def _write_subscriptions(self) -> None:
        for sub in self.subscriptions:
            attrs, endpoint = sub["attrs"], sub["sub"]["Endpoint"]
            block = self.add("aws_sns_topic_subscription", sub["tf"])
            block.set("topic_arn", Expr(f"aws_sns_topic.{sub['topic']['tf']}.arn"))
            block.set("protocol", sub["sub"]["Protocol"])
            block.set("endpoint", self.arn_of(endpoint))
            if attrs.get("RawMessageDelivery") == "true":
                block.set("raw_message_delivery", True)
            if attrs.get("FilterPolicy"):
                block.set("filter_policy", self.jsonencode(json.loads(attrs["FilterPolicy"])))
                scope = attrs.get("FilterPolicyScope", "MessageAttributes")
                if scope != "MessageAttributes":
                    block.set("filter_policy_scope", scope)
            if attrs.get("RedrivePolicy"):
                block.set("redrive_policy", self.jsonencode(json.loads(attrs["RedrivePolicy"])))
            if attrs.get("DeliveryPolicy"):
                block.set("delivery_policy", self.jsonencode(json.loads(attrs["DeliveryPolicy"])))

    def _write_functions(self) -> None:
        for entry in self.functions:
            fn, tf = entry["fn"], entry["tf"]
            module_name = tf
            module = extract(fn.handler, self.is_lab_literal)
            role = self.role_for(
                f"arn:aws:iam::{self.account}:role/{fn.name}-role", "lambda.amazonaws.com"
            )
            role.held = None
            if module.calls:
                # which resources it calls them on is in the handler's code, not in the lab
                role.notes.append(f"the handler calls {', '.join(module.calls)} itself: allow")
                role.notes.append("those actions here, on the resources it uses")
            # the SQS one holds the basic one's CloudWatch Logs permissions too
            role.managed.append(SQS_EXECUTION if fn.mappings else BASIC_EXECUTION)
            streams = [m for m in self.lab.functions.stream_mappings if m.function is fn]
            if streams:
                role.managed.append(DYNAMODB_EXECUTION)
            archive = Block("data", ("archive_file", tf))
            archive.set("type", "zip")
            archive.set("source_file", Template(f'"${{path.module}}/handlers/{module_name}.py"'))
            archive.set("output_path", Template(f'"${{path.module}}/build/{module_name}.zip"'))
            self.blocks.setdefault("archive_file", []).append(archive)
            block = self.add("aws_lambda_function", tf)
            if not fn.dead_letter_url:
                block.comment(f"checkov:skip={LAMBDA_NO_DLQ[0]}:{LAMBDA_NO_DLQ[1]}")
            if module.environment:
                block.comment(f"checkov:skip={LAMBDA_ENVIRONMENT[0]}:{LAMBDA_ENVIRONMENT[1]}")
            self._handler_source(block, module, module_name)
            block.set("function_name", self.name_of(fn.name))
            block.set("role", Expr(f"aws_iam_role.{role.tf}.arn"))
            block.set("runtime", LAMBDA_RUNTIME)
            block.set("handler", f"{module_name}.{module.function}")
            block.set("filename", Expr(f"data.archive_file.{tf}.output_path"))
            block.set("source_code_hash", Expr(f"data.archive_file.{tf}.output_base64sha256"))
            if fn.timeout != 3:
                block.set("timeout", _number(fn.timeout))
            if module.environment:
                env = block.nested("environment")
                env.set("variables", {k: self.value(v) for k, v in module.environment.items()})
            if fn.dead_letter_url:
                dlq = self.arns[fn.dead_letter_url]
                block.nested("dead_letter_config").set("target_arn", dlq)
                role.waiting.append(block)
                role.needs.append(("sqs:SendMessage", dlq))
            held = self._lambda_settings(fn.arn)
            if held.get("ReservedConcurrentExecutions") is not None:
                block.set("reserved_concurrent_executions", held["ReservedConcurrentExecutions"])
            retries = held.get("MaximumRetryAttempts", fn.retries)
            age = held.get("MaximumEventAgeInSeconds")
            on_failure = ((held.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            if retries != 2 or age is not None or on_failure:
                name = self.names.make("aws_lambda_function_event_invoke_config", tf)
                config = self.add("aws_lambda_function_event_invoke_config", name)
                config.set("function_name", Expr(f"aws_lambda_function.{tf}.function_name"))
                config.set("maximum_retry_attempts", retries)
                if age is not None:
                    config.set("maximum_event_age_in_seconds", age)
                if on_failure:
                    destination = config.nested("destination_config").nested("on_failure")
                    destination.set("destination", self.arn_of(on_failure))
                    action = _DESTINATION_ACTIONS[on_failure.split(":")[2]]
                    role.needs.append((action, self.arn_of(on_failure)))
                    role.waiting.append(config)
            for mapping in fn.mappings:
                role.waiting.append(self._mapping(tf, fn, mapping))
            for stream in streams:
                role.waiting.append(self._stream_mapping(tf, stream, role))
            self._permissions(tf, fn)

    def _lambda_settings(self, function_arn: str) -> dict[str, Any]:
        """What Lambda holds for a function: its reserved concurrency and its asynchronous
        settings ({} where the backend has no such function)."""
        from botocore.exceptions import ClientError

        lam = self.lab.client("lambda")
        held: dict[str, Any] = {}
        try:
            held.update(lam.get_function_concurrency(FunctionName=function_arn))
            held.update(lam.get_function_event_invoke_config(FunctionName=function_arn))
        except ClientError:
            pass  # none set, or no such function in Lambda (the aws backend's local ones)
        return held

    def _handler_source(self, block: Block, module: HandlerModule, module_name: str) -> None:
        if module.source:
            self.handlers[f"{module_name}.py"] = module.source
            block.comment(f"handlers/{module_name}.py holds the handler, written from the lab")
            return
        block.comment(f"package the handler {module.function}(event, context) as")
        block.comment(f"handlers/{module_name}.py: it could not be written out, as {module.reason}")

    def _mapping(self, tf: str, fn: Any, mapping: Any) -> Block:
        queue = mapping.queue_arn.rsplit(":", 1)[-1]
        name = self.names.make("aws_lambda_event_source_mapping", f"{queue}_to_{tf}")
        block = self.add("aws_lambda_event_source_mapping", name)
        block.set("event_source_arn", self.arn_of(mapping.queue_arn))
        block.set("function_name", Expr(f"aws_lambda_function.{tf}.arn"))
        block.set("batch_size", mapping.batch_size)
        if mapping.window:
            block.set("maximum_batching_window_in_seconds", _number(mapping.window))
        if mapping.report_failures:
            block.set("function_response_types", ["ReportBatchItemFailures"])
        if not mapping.enabled:
            block.set("enabled", False)
        if mapping.max_concurrency is not None:
            block.nested("scaling_config").set("maximum_concurrency", mapping.max_concurrency)
        elif fn.concurrency >= 2:
            # the lab's concurrency limit, as SQS mappings set it (2 to 1000)
            block.nested("scaling_config").set("maximum_concurrency", min(fn.concurrency, 1000))
        return block

    def _stream_mapping(self, tf: str, stream: Any, role: Any) -> Block:
        """A DynamoDB stream's event source mapping, its settings where not Lambda's defaults."""
        table = stream.table_name.removeprefix(self.strip)
        name = self.names.make("aws_lambda_event_source_mapping", f"{table}_stream_to_{tf}")
        block = self.add("aws_lambda_event_source_mapping", name)
        block.set("event_source_arn", self.arn_of(stream.stream_arn))
        block.set("function_name", Expr(f"aws_lambda_function.{tf}.arn"))
        block.set("starting_position", stream.starting_position)
        if stream.batch_size != 100:
            block.set("batch_size", stream.batch_size)
        if stream.max_retries != -1:
            block.set("maximum_retry_attempts", stream.max_retries)
        if stream.bisect:
            block.set("bisect_batch_on_function_error", True)
        if stream.report_failures:
            block.set("function_response_types", ["ReportBatchItemFailures"])
        if stream.on_failure:
            destination = self.arn_of(stream.on_failure)
            block.nested("destination_config").nested("on_failure").set(
                "destination_arn", destination
            )
            action = "sqs:SendMessage" if ":sqs:" in stream.on_failure else "sns:Publish"
            role.needs.append((action, destination))
        if not stream.enabled:
            block.set("enabled", False)
        return block

    def _permissions(self, tf: str, fn: Any) -> None:
        held: list[dict[str, Any]] = []
        if self.lab.mocked:
            lam = self.lab.client("lambda")
            try:
                held = policies.as_list(
                    json.loads(lam.get_policy(FunctionName=fn.name)["Policy"]).get("Statement", [])
                )
            except Exception:  # noqa: BLE001 - no policy (ResourceNotFound) or no Lambda service
                held = []
        wanted: list[tuple[str, str, Any, str]] = []  # (sid, principal, source ARN, action)
        for st in held:
            principal = st.get("Principal", {})
            service = principal.get("Service") if isinstance(principal, dict) else None
            condition = st.get("Condition", {})
            source = next(
                (arns for test in condition.values() for k, arns in test.items()
                 if k.lower() == "aws:sourcearn"), None)  # fmt: skip
            wanted.append((st.get("Sid", ""), service or "", source, st.get("Action", "")))
        for service, source in self.lambda_needs.get(fn.arn, []):
            if any(w[1] == service and w[2] in (None, source) for w in wanted):
                continue
            wanted.append(("", service, source, "lambda:InvokeFunction"))
        for sid, service, source, action in wanted:
            label = (source or service).rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            name = self.names.make("aws_lambda_permission", f"{tf}_from_{label}")
            block = self.add("aws_lambda_permission", name)
            # unique per function: the service and the source it names
            block.set("statement_id", sid or f"From{_camel(service.split('.')[0])}{_camel(label)}")
            block.set("action", action)
            block.set("function_name", Expr(f"aws_lambda_function.{tf}.function_name"))
            block.set("principal", service)
            if source:
                block.set("source_arn", self.arn_of(source))

    def _write_buses_and_rules(self) -> None:
        for bus in self.buses:
            self.add("aws_cloudwatch_event_bus", bus["tf"]).set("name", self.name_of(bus["name"]))
        for rule in self.rules:
            r, bus = rule["rule"], rule["bus"]
            block = self.add("aws_cloudwatch_event_rule", rule["tf"])
            block.set("name", self.name_of(r["Name"]))
            if bus != "default":
                block.set("event_bus_name", self.refs[f"bus:{bus}"])
            self._described_pattern(block, r)
            if r.get("ScheduleExpression"):
                block.set("schedule_expression", r["ScheduleExpression"])
            if r.get("State") == "DISABLED":
                block.set("state", "DISABLED")
            for target in rule["targets"]:
                self._target(rule, target)
        for archive in self.archives:
            desc = archive["desc"]
            block = self.add("aws_cloudwatch_event_archive", archive["tf"])
            block.set("name", self.name_of(desc["ArchiveName"]))
            source = desc["EventSourceArn"]
            block.set("event_source_arn", self.arn_of(source))
            self._described_pattern(block, desc)
            if desc.get("RetentionDays"):
                block.set("retention_days", desc["RetentionDays"])

    def _described_pattern(self, block: Block, found: dict[str, Any]) -> None:
        """A rule's or archive's description and event pattern, when it has them."""
        if found.get("Description"):
            block.set("description", found["Description"])
        if found.get("EventPattern"):
            block.set("event_pattern", self.jsonencode(json.loads(found["EventPattern"])))

    def _target(self, rule: dict[str, Any], target: dict[str, Any]) -> None:
        name = self.names.make("aws_cloudwatch_event_target", f"{rule['tf']}_{target['Id']}")
        block = self.add("aws_cloudwatch_event_target", name)
        block.set("rule", Expr(f"aws_cloudwatch_event_rule.{rule['tf']}.name"))
        if rule["bus"] != "default":
            block.set("event_bus_name", self.refs[f"bus:{rule['bus']}"])
        block.set("target_id", target["Id"])
        block.set("arn", self.arn_of(target["Arn"]))
        if target.get("RoleArn"):
            block.set("role_arn", self.arns[target["RoleArn"]])
        if "Input" in target:
            block.set("input", self.value(target["Input"]))
        if "InputPath" in target:
            block.set("input_path", target["InputPath"])
        transformer = target.get("InputTransformer")
        if transformer:
            nested = block.nested("input_transformer")
            if transformer.get("InputPathsMap"):
                nested.set("input_paths", transformer["InputPathsMap"])
            nested.set("input_template", self.value(transformer["InputTemplate"]))
        retry = target.get("RetryPolicy")
        if retry:
            nested = block.nested("retry_policy")
            if "MaximumEventAgeInSeconds" in retry:
                nested.set("maximum_event_age_in_seconds", retry["MaximumEventAgeInSeconds"])
            if "MaximumRetryAttempts" in retry:
                nested.set("maximum_retry_attempts", retry["MaximumRetryAttempts"])
        dlq = target.get("DeadLetterConfig", {}).get("Arn")
        if dlq:
            block.nested("dead_letter_config").set("arn", self.arn_of(dlq))
        group = target.get("SqsParameters", {}).get("MessageGroupId")
        if group:
            block.nested("sqs_target").set("message_group_id", group)

    def _write_machines(self) -> None:
        for machine in self.machines:
            definition = json.loads(machine["desc"]["definition"])
            block = self.add("aws_sfn_state_machine", machine["tf"])
            block.set("name", self.name_of(machine["name"]))
            block.set("role_arn", Expr(f"aws_iam_role.{machine['role'].tf}.arn"))
            block.set("definition", self.jsonencode(self._definition(definition)))

    def _definition(self, value: Any, key: str = "") -> Any:
        """A state machine definition with the lab's names and ARNs as references."""
        if isinstance(value, dict):
            return {k: self._definition(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._definition(v, key) for v in value]
        if isinstance(value, str):
            if key == "TableName" and f"table:{value}" in self.arns:
                return Expr(str(self.arns[f"table:{value}"]).removesuffix(".arn") + ".name")
            if key == "EventBusName" and f"bus:{value}" in self.refs:
                return self.refs[f"bus:{value}"]
            if key == "FunctionName" and f"function:{value}" in self.refs:
                return self.refs[f"function:{value}"]
            return self.value(value)
        return value

    def _write_roles(self) -> None:
        for role in self.roles.values():
            block = self.add("aws_iam_role", role.tf)
            for note in role.notes:
                block.comment(note)
            block.set("name", self.name_of(role.name))
            held = role.held or {}
            trust = held.get("trust") or policies.trust(role.service)
            block.set("assume_role_policy", self.jsonencode(trust))
            documents: list[dict[str, Any]] = list(held.get("inline", {}).values())
            granting: list[Expr] = []  # the resources that give the role its permissions
            for pname, doc in held.get("inline", {}).items():
                name = self.names.make("aws_iam_role_policy", f"{role.tf}_{pname}")
                granting.append(Expr(f"aws_iam_role_policy.{name}"))
                inline = self.add("aws_iam_role_policy", name)
                inline.set("name", pname)
                inline.set("role", Expr(f"aws_iam_role.{role.tf}.id"))
                inline.set("policy", self.jsonencode(doc))
            managed = dict(held.get("managed", {}))
            managed.update({arn: None for arn in role.managed})
            for parn, doc in managed.items():
                pname = parn.rsplit("/", 1)[-1]
                name = self.names.make("aws_iam_role_policy_attachment", f"{role.tf}_{pname}")
                attach = self.add("aws_iam_role_policy_attachment", name)
                granting.append(Expr(f"aws_iam_role_policy_attachment.{name}"))
                attach.set("role", Expr(f"aws_iam_role.{role.tf}.name"))
                if doc is None:
                    attach.set("policy_arn", parn)
                    continue
                documents.append(doc)
                pol_tf = self.names.make("aws_iam_policy", pname)
                policy = self.add("aws_iam_policy", pol_tf)
                policy.set("name", self.name_of(pname))
                policy.set("policy", self.jsonencode(doc))
                attach.set("policy_arn", Expr(f"aws_iam_policy.{pol_tf}.arn"))
            flow = self._role_needs(role, documents)
            granting += [flow] if flow else []
            for waiting in role.waiting:
                waiting.set("depends_on", granting)

    def _role_needs(self, role: _Role, documents: list[dict[str, Any]]) -> Expr | None:
        grouped: dict[str, list[Any]] = {}
        for action, resource in role.needs:
            if policies.grants(documents, action) is not None:
                continue  # the lab's own policy allows it already
            found = grouped.setdefault(action, [])
            for r in resource if isinstance(resource, list) else [resource]:
                if r not in found:
                    found.append(r)
        if not grouped:
            return None
        statements = [
            {"Effect": "Allow", "Action": action, "Resource": resources}
            for action, resources in grouped.items()
        ]
        name = self.names.make("aws_iam_role_policy", f"{role.tf}_flow")
        block = self.add("aws_iam_role_policy", name)
        block.set("name", "flow")
        block.set("role", Expr(f"aws_iam_role.{role.tf}.id"))
        block.set("policy", self.jsonencode(policies.document(statements)))
        return Expr(f"aws_iam_role_policy.{name}")

    def jsonencode(self, value: Any) -> Expr:
        return Expr("jsonencode(" + "\n".join(render_value(self.value(value))) + ")")


def _target_action(arn: str) -> str:
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    return {
        "states": "states:StartExecution",
        "events": "events:PutEvents",
        "sqs": "sqs:SendMessage",
        "sns": "sns:Publish",
        "lambda": "lambda:InvokeFunction",
        "kinesis": "kinesis:PutRecord",
    }.get(service, f"{service}:*")


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return dict(json.loads(unquote(value)))
    return dict(value)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _skip(check: str, reason: str) -> Comment:
    return Comment(f"checkov:skip={check}:{reason}")


def build(lab: Lab) -> Export:
    """The lab's topology as Terraform, with the handler sources beside it."""
    return _Writer(lab).write()
