"""Lambda refuses an SQS event source mapping whose function can outlive the queue's visibility
timeout, and a maximum concurrency out of its range.

AWS (Lambda Developer Guide, creating an SQS event source mapping): "Your function's timeout must
be less than or equal to the queue's visibility timeout. Lambda validates this requirement when
you create or update an event source mapping and will return an error if the function timeout
exceeds the queue's visibility timeout"; Lambda answers ``InvalidParameterValueException``
"Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds". ScalingConfig's
``MaximumConcurrency`` is 2 to 1,000 (API reference, ScalingConfig); botocore refuses less than 2
before sending, nothing refuses more than 1,000. moto 5.2.5 creates both mappings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["MAX_CONCURRENCY", "rows"]

#: ScalingConfig's MaximumConcurrency range (API reference, ScalingConfig)
MAX_CONCURRENCY = (2, 1_000)


def _refuse(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(message)


def _check(backend: Any, spec: dict[str, Any]) -> None:
    cap = (spec.get("ScalingConfig") or {}).get("MaximumConcurrency")
    low, high = MAX_CONCURRENCY
    if cap is not None and not low <= int(cap) <= high:
        raise _refuse(
            f"1 validation error detected: Value '{cap}' at 'scalingConfig.maximumConcurrency' "
            f"failed to satisfy constraint: Member must have value between {low} and {high}"
        )
    arn = str(spec.get("EventSourceArn", ""))
    if ":sqs:" not in arn or not spec.get("FunctionName"):
        return
    from moto.sqs import sqs_backends

    queues = sqs_backends[backend.account_id][backend.region_name].queues.values()
    queue = next((q for q in queues if q.queue_arn == arn), None)
    if queue is None:
        return  # moto's own answer for a queue that does not exist
    function = backend._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
    visibility, timeout = int(queue.visibility_timeout), int(function.timeout)
    if timeout > visibility:
        raise _refuse(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{timeout} seconds"
        )


def _checked(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        _check(self, spec)
        return create(self, spec)

    return create_event_source_mapping


def rows() -> list[Row]:
    from moto.awslambda.models import LambdaBackend

    return [Wrap(LambdaBackend, "create_event_source_mapping", _checked)]
