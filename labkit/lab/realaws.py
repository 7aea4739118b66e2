"""The real-account backend: every resource the lab creates is prefixed, tagged and removed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.parts import Clients, Hooks

__all__ = ["Created", "LAB_TAG", "prefix_tag_and_record"]

LAB_TAG = ("labkit", "workbook")

#: The parameters holding a name the lab prefixes: (service, parameters, the operations that
#: take them).
_NAMES_IN: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("sqs", ("QueueName",), ("CreateQueue", "GetQueueUrl")),
    ("sns", ("Name",), ("CreateTopic",)),
    ("events", ("Name",), ("CreateEventBus", "DescribeEventBus", "DeleteEventBus")),
    ("events", ("Name", "EventBusName"), ("PutRule", "DescribeRule", "DeleteRule")),
    ("events", ("Rule", "EventBusName"), ("PutTargets", "RemoveTargets", "ListTargetsByRule")),
    ("events", ("EventBusName",), ("ListRules",)),
    ("events", ("ArchiveName",), ("CreateArchive",)),
    ("stepfunctions", ("name",), ("CreateStateMachine",)),
    (
        "s3",
        ("Bucket",),
        (
            "CreateBucket",
            "PutObject",
            "GetObject",
            "HeadObject",
            "DeleteObject",
            "ListObjectsV2",
            "PutBucketNotificationConfiguration",
            "GetBucketNotificationConfiguration",
            "PutBucketTagging",
            "GetBucketTagging",
        ),
    ),
    (
        "dynamodb",
        ("TableName",),
        ("CreateTable", "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Scan", "Query"),
    ),
)
#: (service, operation) -> the parameters holding a name the lab prefixes.
NAMED: dict[tuple[str, str], tuple[str, ...]] = {
    (service, operation): parameters
    for service, parameters, operations in _NAMES_IN
    for operation in operations
}
KEEP = {"default"}  # the default event bus belongs to the account, not the lab
#: operation -> the kind of resource it creates and the one key that names it for deletion, in
#: the answer (a URL or ARN) or else in the request (a name). A rule (named with its bus) and a
#: bucket (tagged once made) have steps of their own in `Created.record`.
MADE_BY: dict[str, tuple[str, str]] = {
    "CreateQueue": ("queue", "QueueUrl"),
    "CreateTopic": ("topic", "TopicArn"),
    "CreateEventBus": ("bus", "Name"),
    "CreateStateMachine": ("state machine", "stateMachineArn"),
    "CreateTable": ("table", "TableName"),
}


def prefixed(prefix: str, name: Any) -> Any:
    if not isinstance(name, str) or name in KEEP or name.startswith(prefix) or ":" in name:
        return name
    return f"{prefix}{name}"


def _add_tags(service: str, op: str, params: dict[str, Any]) -> None:
    key, value = LAB_TAG
    if (service, op) == ("sqs", "CreateQueue"):
        params.setdefault("tags", {})[key] = value
    elif (service, op) in {
        ("sns", "CreateTopic"),
        ("events", "CreateEventBus"),
        ("events", "PutRule"),
        ("dynamodb", "CreateTable"),
    }:
        params.setdefault("Tags", []).append({"Key": key, "Value": value})
    elif (service, op) == ("stepfunctions", "CreateStateMachine"):
        params.setdefault("tags", []).append({"key": key, "value": value})


class Created:
    """What the lab made in the account, deleted in reverse order at teardown."""

    def __init__(self, lab: Clients) -> None:
        self.lab = lab
        self.items: list[tuple[str, dict[str, str]]] = []

    def record(self, service: str, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if op in MADE_BY:
            kind, key = MADE_BY[op]
            self.items.append((kind, {key: parsed[key] if key in parsed else params[key]}))
        elif op == "PutRule":
            bus = params.get("EventBusName", "default")
            self.items.append(("rule", {"Name": params["Name"], "EventBusName": bus}))
        elif op == "CreateBucket":
            self.items.append(("bucket", {"Bucket": params["Bucket"]}))
            # CreateBucket takes no tags: the bucket gets the lab's tag right after
            key, value = LAB_TAG
            self.lab.client("s3").put_bucket_tagging(
                Bucket=params["Bucket"], Tagging={"TagSet": [{"Key": key, "Value": value}]}
            )

    def teardown(self) -> list[str]:
        """Delete everything recorded; returns what could not be deleted."""
        failed: list[str] = []
        for kind, ids in reversed(self.items):
            try:
                self._delete(kind, ids)
            except Exception as exc:  # keep going: one stuck resource must not strand the rest
                failed.append(f"{kind} {ids}: {exc}")
        self.items.clear()
        return failed

    def _delete(self, kind: str, ids: dict[str, str]) -> None:
        c = self.lab.client
        if kind == "queue":
            c("sqs").delete_queue(**ids)
        elif kind == "topic":
            arn = ids["TopicArn"]
            subs = c("sns").list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
            for sub in subs:
                if sub["SubscriptionArn"].startswith("arn:"):
                    c("sns").unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
            c("sns").delete_topic(**ids)
        elif kind == "rule":
            targets = c("events").list_targets_by_rule(
                Rule=ids["Name"], EventBusName=ids["EventBusName"]
            )
            target_ids = [t["Id"] for t in targets.get("Targets", [])]
            if target_ids:
                c("events").remove_targets(
                    Rule=ids["Name"], EventBusName=ids["EventBusName"], Ids=target_ids
                )
            c("events").delete_rule(**ids)
        elif kind == "bus":
            c("events").delete_event_bus(**ids)
        elif kind == "state machine":
            c("stepfunctions").delete_state_machine(**ids)
        elif kind == "table":
            c("dynamodb").delete_table(**ids)
        elif kind == "bucket":
            s3 = c("s3")
            # a bucket must be empty before it can be deleted
            for page in s3.get_paginator("list_objects_v2").paginate(**ids):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=ids["Bucket"], Delete={"Objects": keys})
            s3.delete_bucket(**ids)


def prefix_tag_and_record(hooks: Hooks, lab: Clients, prefix: str) -> Created:
    """Prefix and tag what the lab's clients create on AWS; delete it on reset and on stop."""
    created = Created(lab)

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        names = NAMED.get((service, model.name), ())
        for key in names:
            if key in params:
                params[key] = prefixed(prefix, params[key])
        if model.name == "PutEvents":
            for entry in params.get("Entries", []):
                if "EventBusName" in entry:
                    entry["EventBusName"] = prefixed(prefix, entry["EventBusName"])
        _add_tags(service, model.name, params)

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **kw: Any) -> None:
        if isinstance(parsed, dict) and "Error" not in parsed:
            service = model.service_model.service_name
            created.record(service, model.name, context.get("labkit_created_params", {}), parsed)

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["labkit_created_params"] = dict(params)

    hooks.on("provide-client-params", before, "labkit-realaws-prefix")
    hooks.on("before-parameter-build", remember, "labkit-realaws-remember")
    hooks.on("after-call", after, "labkit-realaws-record")
    hooks.on_stop(lambda: _report(created.teardown()))
    hooks.on_reset(lambda: _report(created.teardown()))
    return created


def _report(failed: list[str]) -> None:
    if failed:
        import warnings

        warnings.warn(
            "labkit could not delete these resources; delete them in the AWS console: "
            + "; ".join(failed),
            stacklevel=2,
        )
