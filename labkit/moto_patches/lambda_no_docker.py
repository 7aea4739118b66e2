"""Lambda on moto without Docker: labkit's runtime polls a function's queues and DynamoDB
streams, and moto's admin data stays readable.

AWS: an event source mapping makes Lambda poll the queue (or the table's stream) and invoke the
function with batches. moto 5.2.5 invokes the function inside ``SendMessage`` (or inside the
table write), through Docker, and empties the stream once an invocation answers. With this
change moto keeps the mapping (``create_event_source_mapping`` answers as on AWS) but does not
invoke; the lab's local function runtime polls the queue or the stream with the mapping's
settings instead. A DynamoDB stream mapping without ``StartingPosition`` is refused, as Lambda
refuses it (moto would read from the oldest record).

moto's ``/moto-api/data.json`` (the data behind moto's dashboard) fails with HTTP 500 as soon
as a function exists and Docker is absent, because its ``docker_client`` property raises; an
AttributeError is what data.json skips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Replace, Row, Wrap

__all__ = ["rows"]


def _kept_not_invoked(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        source = str(spec.get("EventSourceArn") or "")
        if ":dynamodb:" in source and not spec.get("StartingPosition"):
            from moto.awslambda.exceptions import InvalidParameterValueException

            # Lambda requires it for a stream; moto would start from TRIM_HORIZON unasked
            raise InvalidParameterValueException(
                "StartingPosition is required for a DynamoDB stream event source: "
                "TRIM_HORIZON or LATEST"
            )
        esm = original(self, spec)
        from moto.dynamodb.models import dynamodb_backends
        from moto.sqs import sqs_backends

        # moto would invoke the function inside SendMessage or a table write (through Docker);
        # labkit's runtime polls the queue or the stream with the mapping's settings instead
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        for table in dynamodb_backends[self.account_id][self.region_name].tables.values():
            table.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    return create_event_source_mapping


def rows() -> list[Row]:
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    replacements: list[Row] = [
        Wrap(LambdaBackend, "create_event_source_mapping", _kept_not_invoked),
    ]
    owner = next((k for k in LambdaFunction.__mro__ if "docker_client" in vars(k)), None)
    docker_client = vars(owner).get("docker_client") if owner is not None else None
    if isinstance(docker_client, property) and docker_client.fget is not None:
        fget = docker_client.fget

        def no_docker(self: Any) -> Any:
            try:
                return fget(self)
            except Exception as exc:
                raise AttributeError(f"docker_client: {exc}") from None

        replacements.append(Replace(LambdaFunction, "docker_client", property(no_docker)))
    return replacements
