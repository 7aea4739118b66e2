"""Exercise checks: inspect the learner's lab and flow, pass with a tick or fail with a hint.

Each lesson has its own module (``labkit.checks.sqs`` for lesson 01, and so on). A check returns
a `Passed` (shown as a tick) or raises `CheckFailed`, which says what was expected, what was
found and gives a hint, like every labkit error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import labkit.matcher as matching
from labkit.errors import LabError
from labkit.lessons.permissions import sender_principal

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = [
    "CheckFailed",
    "Passed",
    "expect",
    "plain",
    "queue_url",
    "routing_hint",
    "sender_may_send",
]


class CheckFailed(LabError):
    """An exercise is not done yet, or not done right.

    In Jupyter a failed check shows its verdict only, not the stack of labkit's checking code
    (IPython asks an exception for `_render_traceback_` before formatting frames):

    >>> CheckFailed("a queue", "none", "create it")._render_traceback_()
    ['CheckFailed: Expected a queue, found none.', 'What to do: create it']
    """

    def _render_traceback_(self) -> list[str]:
        first, *rest = str(self).splitlines()
        return [f"{type(self).__name__}: {first}", *rest]


@dataclass(frozen=True)
class Passed:
    """A check that passed, shown as one line."""

    exercise: str
    detail: str

    def __str__(self) -> str:
        return f"✓ {self.exercise}: {self.detail}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<p style='color:#1a7f37'><b>✓ {self.exercise}</b>: {self.detail}</p>"


def expect(condition: bool, expected: str, found: str, hint: str) -> None:
    """Raise `CheckFailed` unless `condition` holds.

    >>> expect(1 + 1 == 2, "two", "two", "none needed")
    >>> expect(False, "a queue named 'orders'", "no queues", "create it")
    Traceback (most recent call last):
    ...
    labkit.checks.CheckFailed: Expected a queue named 'orders', found no queues.
    What to do: create it
    """
    if not condition:
        raise CheckFailed(expected, found, hint)


def queue_url(lab: Lab, name: str) -> str:
    """The URL of the queue named `name`, or a failed check saying how to create it."""
    sqs = lab.client("sqs")
    urls = sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    found = [u for u in urls if u.rsplit("/", 1)[-1] == name]
    expect(
        bool(found),
        f"a queue named {name!r}",
        "queues " + (", ".join(u.rsplit("/", 1)[-1] for u in urls) or "none") + " with that prefix",
        f"run the cell that creates it: sqs.create_queue(QueueName={name!r}, ...)",
    )
    return found[0]


def routing_hint(reasons: Sequence[str], should_match: bool, matched: bool, hint: str) -> str:
    """The hint for a sample a filter policy or event pattern routed the wrong way.

    When a sample that should get through is turned away, the matcher's own reasons (which key,
    which condition) come first, then the exercise's hint; otherwise the hint as it is.

    >>> routing_hint(['The attribute "total" is 5, but ...'], True, False, "use numeric")
    'The attribute "total" is 5, but ... For this exercise: use numeric'
    >>> routing_hint([], False, True, "exclude USD")
    'exclude USD'
    """
    if should_match and not matched and reasons:
        return f"{' '.join(reasons)} For this exercise: {hint}"
    return hint


def plain(answer: object) -> str:
    """An answer as words compare: lower case, no "Amazon"/"AWS", no spaces or punctuation.

    >>> [plain(a) for a in ("Amazon SNS", " eventbridge ", "Step Functions", "pub/sub", ...)]
    ['sns', 'eventbridge', 'stepfunctions', 'pubsub', '']
    """
    if not isinstance(answer, str):
        return ""
    words = answer.lower().replace("amazon", " ").replace("aws", " ")
    return "".join(ch for ch in words if ch.isalnum())


def sender_may_send(lab: Lab, url: str, queue_arn: str, sender_arn: str) -> matching.Decision:
    """Whether the queue's access policy lets `sender_arn` (a topic or rule) send to it, as the
    service (and the lab) decide, read without tracing."""
    with lab.tracer.paused():
        attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    context = {"aws:SourceArn": sender_arn, "aws:SourceAccount": sender_arn.split(":")[4]}
    request = matching.Request(sender_principal(sender_arn), "sqs:SendMessage", queue_arn, context)
    return matching.evaluate_policy(attrs.get("Attributes", {}).get("Policy"), request)
