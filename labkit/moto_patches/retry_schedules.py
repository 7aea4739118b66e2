"""When SNS and EventBridge retry a delivery that failed with a retriable (server-side) error.

Standard library only. A schedule numbers the retries 1, 2, ... after the first attempt and says
how many seconds after that first attempt each one happens (`offset`), and which retry is the
first at or after a given moment (`first_at_or_after`), without walking through the retries
before it: SNS's policy for queues and functions has 100,015 of them.

**SNS** (Amazon SNS message delivery retries): a delivery policy has four phases, after the
first attempt: immediate retries (no delay), pre-backoff retries (the minimum delay apart),
backoff retries (from the minimum to the maximum delay, by the backoff function) and
post-backoff retries (the maximum delay apart). For SQS and Lambda endpoints AWS fixes it: 3
immediate, 2 one second apart, 10 backing off exponentially from 1 to 20 seconds, 100,000 twenty
seconds apart (the docs' table sums them to "100,015 times, over 23 days"). For HTTP/S the
default is 3 retries 20 seconds apart, and a ``DeliveryPolicy`` on the topic or the subscription
sets another (`sns_policy` reads and checks it). AWS names the backoff functions and draws them
without giving formulas, and applies jitter it does not describe: the lab's curves are in
`BACKOFF`, and SNS's retries here have no jitter.

**EventBridge** (Event retry policy and using dead-letter queues): a target's ``RetryPolicy``
allows ``MaximumRetryAttempts`` retries (0-185, default 185) within
``MaximumEventAgeInSeconds`` (60-86,400, default 86,400) of the event, "with an exponential back
off and jitter". AWS does not publish the constants: here the n-th delay is drawn between half
and all of ``min(2**n, 600)`` seconds, from a generator seeded with the rule, the target and the
failed delivery's number since the lab started, so a run repeats on every backend.

>>> AWS_MANAGED.retries, round(AWS_MANAGED.total / 86400, 1)
(100015, 23.1)
>>> [HTTP_DEFAULT.offset(k) for k in (1, 2, 3, 4)]
[20.0, 40.0, 60.0, None]
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AWS_MANAGED",
    "BACKOFF",
    "EVENTS_MAX_AGE",
    "EVENTS_MAX_RETRIES",
    "HTTP_DEFAULT",
    "EventsSchedule",
    "InvalidDeliveryPolicy",
    "InvalidRetryPolicy",
    "SnsPolicy",
    "check_retry_policy",
    "events_schedule",
    "sns_policy",
]

#: The lab's backoff curves: the share (0 to 1) of the way from the minimum to the maximum delay
#: at a point (0 to 1) of the backoff phase.
BACKOFF: dict[str, Callable[[float], float]] = {
    "linear": lambda x: x,
    "arithmetic": lambda x: x * (x + 1) / 2,
    "geometric": lambda x: x**2,
    "exponential": lambda x: (2 ** (10 * x) - 1) / 1023,
}
#: SNS: the most retries an HTTP/S delivery policy may ask for, and the longest it may take.
HTTP_MAX_RETRIES, HTTP_MAX_SECONDS = 100, 3600
#: EventBridge: a target's RetryPolicy limits and defaults.
EVENTS_MAX_RETRIES, EVENTS_MAX_AGE, EVENTS_MIN_AGE = 185, 86_400, 60
#: EventBridge: the lab's backoff (AWS does not publish its own): 2**n seconds, capped.
EVENTS_BACKOFF_CAP = 600.0


class InvalidDeliveryPolicy(ValueError):
    """A DeliveryPolicy SNS refuses (``InvalidParameter``); the message says which part."""


class InvalidRetryPolicy(ValueError):
    """A RetryPolicy EventBridge refuses (``ValidationException``)."""


@dataclass(frozen=True)
class SnsPolicy:
    """An SNS delivery policy's healthy-retry part, in AWS's terms (seconds, counts)."""

    min_delay: float = 20.0  # minDelayTarget
    max_delay: float = 20.0  # maxDelayTarget
    retries: int = 3  # numRetries: every phase together
    no_delay: int = 0  # numNoDelayRetries
    min_delay_retries: int = 0  # numMinDelayRetries
    max_delay_retries: int = 0  # numMaxDelayRetries
    backoff: str = "linear"  # backoffFunction
    _offsets: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the offsets of every retry before the post-backoff phase (at most 115 of them)
        offsets: list[float] = [0.0] * self.no_delay
        at = 0.0
        for _ in range(self.min_delay_retries):
            at += self.min_delay
            offsets.append(at)
        for delay in self.backoff_delays():
            at = round(at + delay, 6)
            offsets.append(at)
        object.__setattr__(self, "_offsets", tuple(offsets))

    @property
    def backoff_retries(self) -> int:
        return self.retries - self.no_delay - self.min_delay_retries - self.max_delay_retries

    def backoff_delays(self) -> list[float]:
        """The delays before each retry of the backoff phase, minimum to maximum."""
        n = self.backoff_retries
        curve = BACKOFF[self.backoff]
        span = self.max_delay - self.min_delay
        return [
            round(self.min_delay + span * curve(i / (n - 1) if n > 1 else 1.0), 6) for i in range(n)
        ]

    @property
    def total(self) -> float:
        """Seconds from the first attempt to the last retry."""
        last = self.offset(self.retries)
        return 0.0 if last is None else last

    def offset(self, k: int) -> float | None:
        """Seconds after the first attempt at which retry `k` (1-based) happens; None past the
        last retry."""
        if k < 1 or k > self.retries:
            return None
        before = len(self._offsets)
        if k <= before:
            return self._offsets[k - 1]
        last = self._offsets[-1] if self._offsets else 0.0
        return round(last + (k - before) * self.max_delay, 6)

    def first_at_or_after(self, k: int, seconds: float) -> int | None:
        """The first retry from `k` on that happens `seconds` or more after the first attempt
        (None: none does)."""
        k = max(k, 1)
        before = len(self._offsets)
        if k <= before:
            i = bisect_left(self._offsets, seconds - 1e-9, lo=k - 1)
            if i < before:
                return i + 1
            k = before + 1
        if k > self.retries:
            return None
        last = self._offsets[-1] if self._offsets else 0.0
        steps = max(math.ceil(round((seconds - last) / self.max_delay, 9)), k - before)
        found = before + steps
        return found if found <= self.retries else None

    def exhausted(self, retried: int) -> str:
        return f"{retried} retries" if retried else "no retries"


#: SNS's fixed policy for SQS and Lambda endpoints.
AWS_MANAGED = SnsPolicy(
    min_delay=1.0,
    max_delay=20.0,
    retries=100_015,
    no_delay=3,
    min_delay_retries=2,
    max_delay_retries=100_000,
    backoff="exponential",
)
#: SNS's default policy for HTTP/S endpoints.
HTTP_DEFAULT = SnsPolicy()

_POLICY_KEYS = {
    "minDelayTarget": "min_delay",
    "maxDelayTarget": "max_delay",
    "numRetries": "retries",
    "numNoDelayRetries": "no_delay",
    "numMinDelayRetries": "min_delay_retries",
    "numMaxDelayRetries": "max_delay_retries",
    "backoffFunction": "backoff",
}


def sns_policy(text: Any, *, topic: bool = False) -> SnsPolicy | None:
    """The healthy-retry policy a DeliveryPolicy attribute sets (None: it sets none), checked as
    SNS checks it; `topic`: the topic's form (``{"http": {"defaultHealthyRetryPolicy": ...}}``).

    >>> sns_policy('{"healthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 10}}').offset(5)
    75.0
    >>> try:
    ...     sns_policy('{"healthyRetryPolicy": {"numRetries": 101}}')
    ... except InvalidDeliveryPolicy as refused:
    ...     print(refused)
    numRetries must be between 0 and 100, got 101
    """
    if text in (None, ""):
        return None
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError:
            raise InvalidDeliveryPolicy("it is not JSON") from None
    if not isinstance(text, dict):
        raise InvalidDeliveryPolicy("it must be a JSON object")
    if topic:
        http = text.get("http", {})
        if not isinstance(http, dict):
            raise InvalidDeliveryPolicy('"http" must be a JSON object')
        overrides = http.get("disableSubscriptionOverrides", False)
        if not isinstance(overrides, bool):
            raise InvalidDeliveryPolicy("disableSubscriptionOverrides must be true or false")
        _check_throttle(http.get("defaultThrottlePolicy"))
        retry = http.get("defaultHealthyRetryPolicy")
    else:
        _check_throttle(text.get("throttlePolicy"))
        retry = text.get("healthyRetryPolicy")
    if retry is None:
        return None
    if not isinstance(retry, dict):
        raise InvalidDeliveryPolicy("healthyRetryPolicy must be a JSON object")
    unknown = sorted(set(retry) - set(_POLICY_KEYS))
    if unknown:
        raise InvalidDeliveryPolicy(f"unknown healthyRetryPolicy field {unknown[0]}")
    values: dict[str, Any] = {}
    for key, name in _POLICY_KEYS.items():
        if key not in retry:
            continue
        value = retry[key]
        if key == "backoffFunction":
            if value not in BACKOFF:
                raise InvalidDeliveryPolicy(
                    f"backoffFunction must be one of {', '.join(sorted(BACKOFF))}, got {value!r}"
                )
        elif not isinstance(value, int) or isinstance(value, bool):
            raise InvalidDeliveryPolicy(f"{key} must be a whole number, got {value!r}")
        values[name] = value
    policy = SnsPolicy(**{"min_delay": 20, "max_delay": 20, **values})
    _check_policy(policy)
    return policy


def _check_policy(policy: SnsPolicy) -> None:
    if not 0 <= policy.retries <= HTTP_MAX_RETRIES:
        raise InvalidDeliveryPolicy(
            f"numRetries must be between 0 and {HTTP_MAX_RETRIES}, got {policy.retries}"
        )
    if policy.min_delay < 1:
        raise InvalidDeliveryPolicy(
            f"minDelayTarget must be at least 1 second, got {policy.min_delay:g}"
        )
    if policy.max_delay > HTTP_MAX_SECONDS:
        raise InvalidDeliveryPolicy(
            f"maxDelayTarget must be at most {HTTP_MAX_SECONDS} seconds, got {policy.max_delay:g}"
        )
    if policy.min_delay > policy.max_delay:
        raise InvalidDeliveryPolicy(
            f"minDelayTarget ({policy.min_delay:g}) must not exceed maxDelayTarget "
            f"({policy.max_delay:g})"
        )
    for name, value in (
        ("numNoDelayRetries", policy.no_delay),
        ("numMinDelayRetries", policy.min_delay_retries),
        ("numMaxDelayRetries", policy.max_delay_retries),
    ):
        if value < 0:
            raise InvalidDeliveryPolicy(f"{name} must be 0 or more, got {value}")
    if policy.backoff_retries < 0:
        raise InvalidDeliveryPolicy(
            "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries "
            f"({policy.retries - policy.backoff_retries}) must not exceed numRetries "
            f"({policy.retries})"
        )
    if policy.total > HTTP_MAX_SECONDS:
        raise InvalidDeliveryPolicy(
            f"the retries would take {policy.total:g} seconds; an HTTP/S delivery policy may "
            f"take at most {HTTP_MAX_SECONDS}"
        )


def _check_throttle(throttle: Any) -> None:
    if throttle is None:
        return
    rate = throttle.get("maxReceivesPerSecond") if isinstance(throttle, dict) else None
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        raise InvalidDeliveryPolicy(f"maxReceivesPerSecond must be 1 or more, got {rate!r}")


@dataclass(frozen=True)
class EventsSchedule:
    """A target's retries: seeded backoff delays, within its attempts and event-age limits.

    >>> s = EventsSchedule(max_retries=2, max_age=3600, seed="e1/t1")
    >>> s.offset(3) is None, s.why_exhausted(2)
    (True, 'MaximumRetryAttempts')
    """

    max_retries: int = EVENTS_MAX_RETRIES
    max_age: float = EVENTS_MAX_AGE
    seed: str = ""
    _offsets: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        offsets: list[float] = []
        at = 0.0
        for n in range(1, self.max_retries + 1):
            ceiling = min(2.0**n, EVENTS_BACKOFF_CAP)
            at = round(at + ceiling / 2 + rng.random() * ceiling / 2, 3)
            if at > self.max_age:
                break
            offsets.append(at)
        object.__setattr__(self, "_offsets", tuple(offsets))

    @property
    def retries(self) -> int:
        """How many retries fit within both limits."""
        return len(self._offsets)

    def offset(self, k: int) -> float | None:
        return self._offsets[k - 1] if 1 <= k <= len(self._offsets) else None

    def first_at_or_after(self, k: int, seconds: float) -> int | None:
        i = bisect_left(self._offsets, seconds - 1e-9, lo=max(k, 1) - 1)
        return i + 1 if i < len(self._offsets) else None

    def why_exhausted(self, retried: int) -> str:
        """Which limit ended the retries (the DLQ's EXHAUSTED_RETRY_CONDITION)."""
        if retried >= self.max_retries:
            return "MaximumRetryAttempts"
        return "MaximumEventAgeInSeconds"

    def exhausted(self, retried: int) -> str:
        return f"{self.why_exhausted(retried)} reached after {retried} retries"


def check_retry_policy(policy: Any) -> None:
    """Refuse a target RetryPolicy outside EventBridge's limits.

    >>> try:
    ...     check_retry_policy({"MaximumRetryAttempts": 186})
    ... except InvalidRetryPolicy as refused:
    ...     print(refused)
    MaximumRetryAttempts must be between 0 and 185, got 186
    """
    if not policy:
        return
    attempts = policy.get("MaximumRetryAttempts", EVENTS_MAX_RETRIES)
    if not 0 <= attempts <= EVENTS_MAX_RETRIES:
        raise InvalidRetryPolicy(
            f"MaximumRetryAttempts must be between 0 and {EVENTS_MAX_RETRIES}, got {attempts}"
        )
    age = policy.get("MaximumEventAgeInSeconds", EVENTS_MAX_AGE)
    if not EVENTS_MIN_AGE <= age <= EVENTS_MAX_AGE:
        raise InvalidRetryPolicy(
            f"MaximumEventAgeInSeconds must be between {EVENTS_MIN_AGE} and {EVENTS_MAX_AGE}, "
            f"got {age}"
        )


def events_schedule(target: dict[str, Any], seed: str) -> EventsSchedule:
    """The schedule a target's RetryPolicy sets (EventBridge's defaults where it sets none)."""
    policy = target.get("RetryPolicy") or {}
    return EventsSchedule(
        max_retries=int(policy.get("MaximumRetryAttempts", EVENTS_MAX_RETRIES)),
        max_age=float(policy.get("MaximumEventAgeInSeconds", EVENTS_MAX_AGE)),
        seed=seed,
    )
