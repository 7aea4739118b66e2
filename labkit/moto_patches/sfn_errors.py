"""Step Functions errors carry their code, and an execution started without a name gets one.

AWS (API reference): every error has its name as its code (``InvalidDefinition``,
``InvalidExecutionInput``, ``MissingRequiredParameter``, ...), and StartExecution: "If you don't
provide a name for the execution, Step Functions automatically generates a universally unique
identifier (UUID) as the execution name". moto 5.2.5's interpreter declares its errors with a
``code`` its base class never reads, so CreateStateMachine with an invalid definition answers an
empty error code; and it names an unnamed execution ``None``, so a second one returns the first
or fails with ExecutionAlreadyExists. Here each error class takes its code as the type moto
answers with, and an unnamed execution is named with moto's seeded ids (the lab's ids repeat run
after run). The messages stay moto's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Replace, Row, Wrap

__all__ = ["rows"]


def _named(start_execution: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution_named(self: Any, state_machine_arn: str, name: Any = None, *args: Any,
                              **kwargs: Any) -> Any:  # fmt: skip
        if name is None:
            from moto.moto_api._internal import mock_random

            name = str(mock_random.uuid4())
        return start_execution(self, state_machine_arn, name, *args, **kwargs)

    return start_execution_named


def rows() -> list[Row]:
    import moto.stepfunctions.parser.api as api
    from moto.core.exceptions import AWSError

    untyped = [
        cls
        for cls in vars(api).values()
        if isinstance(cls, type)
        and issubclass(cls, AWSError)
        and cls.__module__ == api.__name__
        and not cls.TYPE
        and isinstance(vars(cls).get("code"), str)
    ]
    return [Replace(cls, "TYPE", vars(cls)["code"]) for cls in untyped] + [
        Wrap("StepFunctionsParserBackend", "start_execution", _named)
    ]
