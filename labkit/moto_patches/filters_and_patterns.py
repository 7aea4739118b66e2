"""Corrections to moto's filter policies and event patterns, where moto 5.2.5 disagrees with AWS.

Each correction is one small function named for what it fixes, routing moto's decision through
`labkit.matcher` (the same matcher the explanations use, so the two cannot disagree):

- `sns_filter_follows_documented_semantics`: SNS -> subscriber deliveries (anything-but on
  arrays, cidr, wildcard, exists on empty values and on messages without attributes, $or in the
  body scope, ...).
- `sns_filter_policy_validation`: Subscribe / SetSubscriptionAttributes accept and reject the
  policies AWS does (cidr and wildcard accepted, $or counted as a sum in the complexity limit,
  unknown operators and malformed values rejected).
- `event_pattern_follows_documented_semantics`: EventBridge rule matching (prefix on `time`,
  arrays of objects, anything-but with suffix / wildcard / equals-ignore-case, exists on empty
  arrays); labkit's bridges use moto's rule matching, so they follow too.
- `event_pattern_validation`: PutRule rejects the patterns EventBridge rejects.

They are two changes in labkit's registry (``labkit.moto_patches``), one per service, written
for moto 5.2.5 only: on another version the registry warns and leaves them off until they are
checked again (tests/test_doc_cases.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import labkit.matcher as matching
from labkit.moto_patches.registry import Change, Row, Wrap

__all__ = ["SNS_FILTER_POLICIES", "EVENT_PATTERNS"]


def sns_filter_follows_documented_semantics() -> Row:
    """moto's FilterPolicyMatcher.matches decides with labkit.matcher instead."""
    from moto.sns.utils import FilterPolicyMatcher

    def matches(self: Any, message_attributes: dict[str, Any] | None, message: str) -> bool:
        if not self.filter_policy:
            return True
        compiled = getattr(self, "_labkit_compiled", None)
        if compiled is None:
            compiled = matching.compile_policy(self.filter_policy, self.filter_policy_scope)
            self._labkit_compiled = compiled
        return matching.filter_matches(
            compiled,
            body=message,
            attributes=message_attributes or {},
        )

    return _instead(FilterPolicyMatcher, "matches", matches)


def sns_filter_policy_validation() -> Row:
    """moto's SNSBackend._validate_filter_policy raises what SNS raises, for what SNS rejects."""
    from moto.sns.exceptions import SNSInvalidParameter
    from moto.sns.models import SNSBackend

    def _validate_filter_policy(self: Any, value: Any, scope: str | None) -> None:
        try:
            matching.validate_filter_policy(value, scope or "MessageAttributes")
        except matching.InvalidFilterPolicy as error:
            raise SNSInvalidParameter(
                f"Invalid parameter: FilterPolicy: {error.aws_message}"
            ) from None

    return _instead(SNSBackend, "_validate_filter_policy", _validate_filter_policy)


def event_pattern_follows_documented_semantics() -> Row:
    """moto's EventPattern.matches_event decides with labkit.matcher instead."""
    from moto.events.models import EventPattern

    def matches_event(self: Any, event: Any) -> bool:
        if not self._pattern:
            return True
        compiled = getattr(self, "_labkit_compiled", None)
        if compiled is None:
            compiled = matching.compile_pattern(self._pattern)
            self._labkit_compiled = compiled
        # the matcher reads moto's own event dict (epoch `time` included) as AWS reads the JSON
        return matching.pattern_matches(compiled, event)

    return _instead(EventPattern, "matches_event", matches_event)


def event_pattern_validation() -> Row:
    """moto's EventPatternParser.parse rejects what PutRule rejects, with EventBridge's reason."""
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPatternParser

    def parse(self: Any) -> dict[str, Any]:
        pattern = EventPatternParser.parse.__wrapped__(self)
        if pattern:
            try:
                matching.validate_pattern(pattern)
            except matching.InvalidEventPattern as error:
                raise InvalidEventPatternException(reason=error.aws_message) from None
        return pattern

    return _instead(EventPatternParser, "parse", parse)


def _instead(owner: type, name: str, function: Callable[..., Any]) -> Row:
    """Put `function` in place of moto's `owner.name`, which stays reachable as __wrapped__."""

    def wrap(original: Any) -> Any:
        function.__name__ = name
        function.__wrapped__ = original  # type: ignore[attr-defined]
        return function

    return Wrap(owner, name, wrap)


SNS_FILTER_POLICIES = Change(
    "sns_filter_policies",
    "moto.sns.models",
    "SNS accepts, rejects and applies filter policies as its developer guide documents",
    "https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html",
    lambda: [sns_filter_follows_documented_semantics(), sns_filter_policy_validation()],
)
EVENT_PATTERNS = Change(
    "events_patterns",
    "moto.events.models",
    "EventBridge accepts, rejects and matches event patterns as its user guide documents",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html",
    lambda: [event_pattern_follows_documented_semantics(), event_pattern_validation()],
)
