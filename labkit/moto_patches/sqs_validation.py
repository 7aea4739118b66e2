"""SQS refuses the values its API reference puts out of range, and keeps nothing it refused.

AWS (API reference, CreateQueue / SetQueueAttributes): ``DelaySeconds`` 0 to 900,
``MaximumMessageSize`` 1,024 to 1,048,576 bytes (1 MiB since 2025), ``MessageRetentionPeriod`` 60
to 1,209,600, ``ReceiveMessageWaitTimeSeconds`` 0 to 20, ``VisibilityTimeout`` 0 to 43,200,
``KmsDataKeyReusePeriodSeconds`` 60 to 86,400; ``RedrivePolicy`` is a JSON object naming an
existing dead-letter queue. ReceiveMessage and ChangeMessageVisibility take a ``VisibilityTimeout``
of 0 to 43,200 and SendMessage a ``DelaySeconds`` of 0 to 900. A ``Number`` message attribute
holds a number of up to 38 digits, between 10^-128 and 10^+126 (SQS Developer Guide, message
attributes). moto 5.2.5 stores out-of-range queue attributes, takes negative timeouts and delays
(a receive with ``VisibilityTimeout=-1`` hands one message to two receivers at once), accepts
``'abc'`` as a Number, answers a RedrivePolicy that is not JSON with a bare JSONDecodeError, and
keeps half of a SetQueueAttributes it then refuses. Here each is refused before moto stores
anything, with SQS's code; a SetQueueAttributes that fails later leaves the queue as it was.

The API reference documents the codes, not the messages. Where moto already refuses a value the
message is moto's; the ones added here use moto's wording for the same family: "Invalid value for
the parameter X." (InvalidAttributeValue) and "Value v for parameter X is invalid. Reason: ..."
(InvalidParameterValue, which is also how SQS words a RedrivePolicy it refuses).

A queue name in place of ``QueueUrl`` stays accepted: the API reference says "Queue URLs and
names are case-sensitive", and SQS resolves a name in the caller's account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS", "QUEUE_ATTRIBUTE_RANGES", "VISIBILITY_TIMEOUT"]

#: The inclusive range of each integer queue attribute (CreateQueue / SetQueueAttributes).
QUEUE_ATTRIBUTE_RANGES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
    "MaximumMessageSize": (1_024, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
}
#: ReceiveMessage and ChangeMessageVisibility: "Values range: 0 to 43200".
VISIBILITY_TIMEOUT = (0, 43_200)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SMALLEST, _LARGEST = Decimal("1e-128"), Decimal("1e126")


def _integer(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _invalid_parameter(name: str, value: Any, reason: str) -> Exception:
    from moto.sqs.exceptions import InvalidParameterValue

    return InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: {reason}")


def _check_queue_attributes(backend: Any, attributes: Mapping[str, Any]) -> None:
    """Raise what CreateQueue / SetQueueAttributes raise for these attributes."""
    from moto.sqs.exceptions import InvalidAttributeValue

    for name, (low, high) in QUEUE_ATTRIBUTE_RANGES.items():
        if name in attributes:
            number = _integer(attributes[name])
            if number is None or not low <= number <= high:
                raise InvalidAttributeValue(name)
    if "RedrivePolicy" in attributes:
        _check_redrive_policy(backend, attributes["RedrivePolicy"])


def _check_redrive_policy(backend: Any, value: Any) -> None:
    if value in (None, ""):
        return  # clears the policy
    policy = value
    if isinstance(value, str):
        try:
            policy = json.loads(value)
        except ValueError:
            policy = None
    if not isinstance(policy, dict):
        raise _invalid_parameter(
            "RedrivePolicy", value, "Redrive policy is not a dict or valid json."
        )
    target = policy.get("deadLetterTargetArn")
    if target and not any(queue.queue_arn == target for queue in backend.queues.values()):
        raise _invalid_parameter("RedrivePolicy", value, "Dead letter target does not exist.")


def _checking_create(create_queue: Callable[..., Any]) -> Callable[..., Any]:
    def create_queue_in_range(self: Any, name: str, tags: Any = None, **attributes: Any) -> Any:
        _check_queue_attributes(self, attributes)
        return create_queue(self, name, tags, **attributes)

    return create_queue_in_range


def _all_or_nothing(set_queue_attributes: Callable[..., Any]) -> Callable[..., Any]:
    def set_queue_attributes_whole(self: Any, queue_name: str, attributes: Any) -> Any:
        queue = self.get_queue(queue_name)
        _check_queue_attributes(self, attributes)
        before = dict(vars(queue))
        try:
            return set_queue_attributes(self, queue_name, attributes)
        except Exception:
            # moto sets the attributes one by one and may refuse a later one
            vars(queue).clear()
            vars(queue).update(before)
            raise

    return set_queue_attributes_whole


#: ReceiveMessage's parameters and their ranges (ReceiveMessage API reference).
RECEIVE_RANGES = {
    "VisibilityTimeout": VISIBILITY_TIMEOUT,
    "WaitTimeSeconds": (0, 20),
    "MaxNumberOfMessages": (1, 10),
}


def _check_in_range(response: Any, names: tuple[str, ...]) -> None:
    """Refuse a parameter outside its range, as SQS words it (moto's words are off for some)."""
    for name in names:
        value = response._get_param(name)
        number = _integer(value)
        low, high = RECEIVE_RANGES[name]
        if value is not None and number is not None and not low <= number <= high:
            raise _invalid_parameter(name, value, f"must be between {low} and {high}, if provided.")


def _checking(*names: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def wrapper(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def action_in_range(self: Any) -> Any:
            _check_in_range(self, names)
            return action(self)

        return action_in_range

    return wrapper


def _checking_batch_visibility(batch: Callable[..., Any]) -> Callable[..., Any]:
    def change_message_visibility_batch(
        self: Any, queue_name: str, entries: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        def negative(entry: dict[str, Any]) -> bool:
            number = _integer(entry.get("VisibilityTimeout"))
            return number is not None and number < VISIBILITY_TIMEOUT[0]

        refused = [entry for entry in entries if negative(entry)]
        success, failed = batch(self, queue_name, [e for e in entries if not negative(e)])
        # moto's words for an entry whose timeout it refuses
        return success, failed + [
            {
                "Id": entry["Id"],
                "SenderFault": True,
                "Code": "InvalidParameterValue",
                "Message": "Visibility timeout invalid",
            }
            for entry in refused
        ]

    return change_message_visibility_batch


def _checking_delay(send_message: Callable[..., Any]) -> Callable[..., Any]:
    def send_message_with_delay_in_range(
        self: Any, queue_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        delay = kwargs.get("delay_seconds", args[2] if len(args) > 2 else None)
        number = _integer(delay)
        if delay is not None and number is not None and number < 0:
            # moto's words for a delay above 900; a batch turns them into a failed entry
            raise _invalid_parameter("DelaySeconds", delay, "DelaySeconds must be >= 0 and <= 900.")
        return send_message(self, queue_name, *args, **kwargs)

    return send_message_with_delay_in_range


def _is_number(text: str) -> bool:
    """A Number attribute's value: up to 38 significant digits, 10^-128 to 10^+126 (or 0)."""
    if not _NUMBER.fullmatch(text):
        return False
    value = Decimal(text)
    if value == 0:
        return True
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return len(digits) <= 38 and _SMALLEST <= abs(value) <= _LARGEST


def _checking_numbers(validate: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
    def validate_message_attributes(message_attributes: dict[str, Any]) -> None:
        validate(message_attributes)
        from moto.sqs.exceptions import MessageAttributesInvalid

        for name, value in (message_attributes or {}).items():
            text = value.get("StringValue")
            if str(value.get("DataType", "")).split(".")[0] == "Number" and text is not None:
                if not _is_number(str(text)):
                    # SQS documents the range of a Number, not the words it refuses one with
                    raise MessageAttributesInvalid(
                        f"The message attribute '{name}' with type 'Number' must hold a number "
                        f"of up to 38 digits, between 10^-128 and 10^+126; found '{text}'."
                    )

    return validate_message_attributes


_RESPONSES = "moto.sqs.responses:SQSResponse"

ROWS: list[Row] = [
    Wrap("SQSBackend", "create_queue", _checking_create),
    Wrap("SQSBackend", "set_queue_attributes", _all_or_nothing),
    Wrap("SQSBackend", "send_message", _checking_delay),
    Wrap("SQSBackend", "change_message_visibility_batch", _checking_batch_visibility),
    Wrap(_RESPONSES, "receive_message", _checking(*RECEIVE_RANGES)),
    Wrap(_RESPONSES, "change_message_visibility", _checking("VisibilityTimeout")),
    Wrap("moto.sqs.responses:", "validate_message_attributes", _checking_numbers),
]
