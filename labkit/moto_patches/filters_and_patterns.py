"""Corrections to moto's filter policies and event patterns, where moto 5.2.5 disagrees with AWS.

Each row routes one of moto's decisions through `labkit.matcher` (the same matcher the
explanations use, so the two cannot disagree):

- `_matches`: SNS -> subscriber deliveries (anything-but on arrays, cidr, wildcard, exists on
  empty values and on messages without attributes, $or in the body scope, ...).
- `_validate_filter_policy`: Subscribe / SetSubscriptionAttributes accept and reject the
  policies AWS does (cidr and wildcard accepted, $or counted as a sum in the complexity limit,
  unknown operators and malformed values rejected).
- `_matches_event`: EventBridge rule matching (prefix on `time`, arrays of objects, anything-but
  with suffix / wildcard / equals-ignore-case, exists on empty arrays); labkit's bridges use
  moto's rule matching, so they follow too.
- `_validated`: PutRule rejects the patterns EventBridge rejects.

They are two changes in labkit's registry (``labkit.moto_patches``), one per service, written
for moto 5.2.5 only: on another version the registry warns and leaves them off until they are
checked again (tests/test_doc_cases.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import labkit.matcher as matching
from labkit.moto_patches.registry import Replace, Row, Wrap

__all__ = ["SNS_FILTER_POLICY_ROWS", "EVENT_PATTERN_ROWS", "refuse_invalid_filter_policy"]


def _compiled(holder: Any, compile: Callable[[], Any]) -> Any:
    """The compiled policy or pattern, kept on moto's object (compiled on first use)."""
    found = vars(holder).get("_labkit_compiled")
    if found is None:
        found = holder._labkit_compiled = compile()
    return found


def _matches(self: Any, message_attributes: dict[str, Any] | None, message: str) -> bool:
    """moto's FilterPolicyMatcher.matches, decided by labkit.matcher."""
    if not self.filter_policy:
        return True
    compiled = _compiled(
        self, lambda: matching.compile_policy(self.filter_policy, self.filter_policy_scope)
    )
    return matching.filter_matches(compiled, body=message, attributes=message_attributes or {})


def refuse_invalid_filter_policy(policy: Any, scope: str | None) -> None:
    """Raise what SNS raises for a filter policy it rejects (its JSON text, or parsed)."""
    from moto.sns.exceptions import InternalError, SNSInvalidParameter

    try:
        matching.validate_filter_policy(policy, scope or "MessageAttributes")
    except matching.InvalidFilterPolicy as error:
        if error.internal:
            raise InternalError("Unknown") from None
        raise SNSInvalidParameter(error.sns_message) from None


def _validate_filter_policy(self: Any, value: Any, scope: str | None) -> None:
    """moto's SNSBackend._validate_filter_policy: raises what SNS raises, for what it rejects."""
    refuse_invalid_filter_policy(value, scope)


def _matches_event(self: Any, event: Any) -> bool:
    """moto's EventPattern.matches_event, decided by labkit.matcher."""
    if not self._pattern:
        return True
    compiled = _compiled(self, lambda: matching.compile_pattern(self._pattern))
    # the matcher reads moto's own event dict (epoch `time` included) as AWS reads the JSON
    return matching.pattern_matches(compiled, event)


def _validated(parse: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """moto's EventPatternParser.parse, rejecting what PutRule rejects with EventBridge's reason."""

    def parse_and_validate(self: Any) -> dict[str, Any]:
        from moto.events.exceptions import InvalidEventPatternException

        pattern = parse(self)
        if pattern:
            try:
                matching.validate_pattern(pattern)
            except matching.InvalidEventPattern as error:
                raise InvalidEventPatternException(reason=error.aws_message) from None
        return pattern

    return parse_and_validate


SNS_FILTER_POLICY_ROWS: list[Row] = [
    Replace("moto.sns.utils:FilterPolicyMatcher", "matches", _matches),
    Replace("SNSBackend", "_validate_filter_policy", _validate_filter_policy),
]
EVENT_PATTERN_ROWS: list[Row] = [
    Replace("EventPattern", "matches_event", _matches_event),
    Wrap("EventPatternParser", "parse", _validated),
]
