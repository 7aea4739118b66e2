"""labkit's local function runtime: Lambda-style handlers run on the lab's clock (see `runtime`).

``faults``: seeded failure injection; ``events``: the Lambda event and context shapes;
``results``: invocations and run results; ``function``: a deployed handler and its workers;
``invocation``: the one place a handler is invoked; ``mapping``: the SQS event source mapping;
``streams``: the DynamoDB stream event source mapping;
``pushes``: asynchronous invocations from SNS and EventBridge; ``polling``: the SQS calls and
the two ways to poll; ``resources``: account, queues and the Lambda function on moto;
``shared``: what mappings and pushes share; ``runtime``: ``lab.functions`` and the event loop.
"""

from labkit.local.functions.events import LambdaContext
from labkit.local.functions.faults import Faults
from labkit.local.functions.function import Function
from labkit.local.functions.mapping import EventSourceMapping
from labkit.local.functions.results import Invocation, RunResult
from labkit.local.functions.runtime import Runtime
from labkit.local.functions.streams import StreamMapping

__all__ = [
    "Faults",
    "Function",
    "EventSourceMapping",
    "Invocation",
    "RunResult",
    "Runtime",
    "StreamMapping",
    "LambdaContext",
]
