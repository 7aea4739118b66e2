"""SQS dead-letter redrive: ``StartMessageMoveTask``, ``ListMessageMoveTasks``,
``CancelMessageMoveTask``, and the source queue a dead letter came from.

AWS: a message move task moves the messages of a dead-letter queue back to the queues they came
from (or to ``DestinationArn``); SQS remembers each dead letter's source queue for that. moto
5.2.5 has no message move tasks (NotImplementedError) and does not remember the source. Here a
message moved to a dead-letter queue remembers its source queue, and the three actions exist on
moto's backend and in its server; moves complete at once, then tasks report ``COMPLETED``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.outbox import post
from labkit.moto_patches.registry import Replace, Row, Wrap

__all__ = ["ROWS"]

_RESPONSES = "moto.sqs.responses:SQSResponse"


def _remembering_sources(receive: Callable[..., Any]) -> Callable[..., Any]:
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        # remember where a message came from when moto moves it to a dead-letter queue, as
        # AWS does (DeadLetterQueueSourceArn), so a redrive can send it home
        queue = self.get_queue(queue_name)
        dlq = queue.dead_letter_queue
        before = len(dlq._messages) if dlq is not None else 0
        result = receive(self, queue_name, *args, **kwargs)
        if dlq is not None and len(dlq._messages) > before:
            for message in dlq._messages[before:]:
                if not getattr(message, "_labkit_source", None):
                    message._labkit_source = queue.queue_arn
        return result

    return receive_message


def _start_message_move_task_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    handle = self.sqs_backend.start_message_move_task(
        source_arn=self._get_param("SourceArn"),
        destination_arn=self._get_param("DestinationArn"),
        max_per_second=self._get_param("MaxNumberOfMessagesPerSecond"),
    )
    return ActionResult({"TaskHandle": handle})


def _list_message_move_tasks_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    tasks = self.sqs_backend.list_message_move_tasks(
        source_arn=self._get_param("SourceArn"),
        max_results=self._get_param("MaxResults"),
    )
    return ActionResult({"Results": tasks})


def _cancel_message_move_task_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    moved = self.sqs_backend.cancel_message_move_task(self._get_param("TaskHandle"))
    return ActionResult({"ApproximateNumberOfMessagesMoved": moved})


def _sqs_error(code: str, message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)


def _queue_by_arn(backend: Any, arn: str, what: str) -> Any:
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise _sqs_error("ResourceNotFoundException", f"The {what} queue {arn} does not exist.")


def _start_move(
    self: Any, source_arn: str, destination_arn: str | None = None, max_per_second: Any = None
) -> str:
    from moto.moto_api._internal import mock_random

    dlq = _queue_by_arn(self, source_arn, "source")
    sources = [q for q in self.queues.values() if q.dead_letter_queue is dlq]
    if not sources:
        raise _sqs_error(
            "InvalidParameterValue",
            "Source queue must be configured as a Dead Letter Queue.",
        )
    if dlq.fifo_queue and not destination_arn:
        raise _sqs_error(
            "InvalidParameterValue", "Redrive to the source queue is not supported for FIFO."
        )
    destination = _queue_by_arn(self, destination_arn, "destination") if destination_arn else None
    tasks = getattr(self, "_labkit_move_tasks", None)
    if tasks is None:
        tasks = self._labkit_move_tasks = []
    if any(t["SourceArn"] == source_arn and t["Status"] == "RUNNING" for t in tasks):
        raise _sqs_error(
            "UnsupportedOperation",
            "There is already a task running. Only one active task is allowed.",
        )
    by_arn = {q.queue_arn: q for q in sources}
    movable = [m for m in list(dlq._messages) if m.visible and not m.delayed]
    to_move = len(movable)
    moved = 0
    handle = str(mock_random.uuid4())
    for message in movable:
        home = destination or by_arn.get(getattr(message, "_labkit_source", "") or "")
        if home is None and len(sources) == 1:
            home = sources[0]
        if home is None:
            continue
        dlq._messages.remove(message)
        message._labkit_source = None
        # a redriven message starts over: receive count and visibility as if just sent
        message.approximate_receive_count = 0
        message.visible_at = 0.0
        home.add_message(message)
        moved += 1
        post(
            "deliveries",
            {
                "source": source_arn,
                "target": home.queue_arn,
                "message_id": message.id,
                "kind": "redriven",
                "detail": f"message move task {handle}",
            },
        )
    task = {
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source_arn,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": int(time.time() * 1000),
    }
    if destination_arn:
        task["DestinationArn"] = destination_arn
    if max_per_second is not None:
        task["MaxNumberOfMessagesPerSecond"] = int(max_per_second)
    tasks.append(task)
    return handle


def _list_moves(self: Any, source_arn: str, max_results: Any = None) -> list[dict[str, Any]]:
    _queue_by_arn(self, source_arn, "source")
    limit = int(max_results or 1)
    if not 1 <= limit <= 10:
        raise _sqs_error("InvalidParameterValue", "MaxResults must be between 1 and 10.")
    tasks = [t for t in getattr(self, "_labkit_move_tasks", []) if t["SourceArn"] == source_arn]
    answer = []
    for task in reversed(tasks[-limit:]):
        entry = dict(task)
        if entry["Status"] != "RUNNING":
            entry.pop("TaskHandle", None)
        answer.append(entry)
    return answer


def _cancel_move(self: Any, handle: str) -> int:
    for task in getattr(self, "_labkit_move_tasks", []):
        if task["TaskHandle"] == handle and task["Status"] == "RUNNING":
            task["Status"] = "CANCELLED"
            return int(task["ApproximateNumberOfMessagesMoved"])
    raise _sqs_error(
        "ResourceNotFoundException", "The task handle does not refer to a running task."
    )


#: Each message move task operation: what the backend does, and how the response answers.
_OPERATIONS = {
    "start_message_move_task": (_start_move, _start_message_move_task_response),
    "list_message_move_tasks": (_list_moves, _list_message_move_tasks_response),
    "cancel_message_move_task": (_cancel_move, _cancel_message_move_task_response),
}

ROWS: list[Row] = [
    Wrap("SQSBackend", "receive_message", _remembering_sources),
    *(Replace("SQSBackend", operation, run) for operation, (run, _) in _OPERATIONS.items()),
    *(Replace(_RESPONSES, operation, answer) for operation, (_, answer) in _OPERATIONS.items()),
]
