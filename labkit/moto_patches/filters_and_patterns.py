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

They are written for moto 5.2.5 only: on another version `patch_moto` warns and changes nothing
until the corrections are checked again.

>>> from labkit.moto_patches import filters_and_patterns as fidelity
>>> fidelity.patch_moto()
>>> fidelity.is_patched()
True
"""

from __future__ import annotations

import warnings
from typing import Any

from labkit import matcher as matching

__all__ = ["MOTO_VERSION", "patch_moto", "is_patched", "CORRECTIONS"]

#: The moto version these corrections were written for and checked against.
MOTO_VERSION = "5.2.5"

_MARK = "_labkit_fidelity"


def sns_filter_follows_documented_semantics() -> None:
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

    _replace(FilterPolicyMatcher, "matches", matches)


def sns_filter_policy_validation() -> None:
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

    _replace(SNSBackend, "_validate_filter_policy", _validate_filter_policy)


def event_pattern_follows_documented_semantics() -> None:
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

    _replace(EventPattern, "matches_event", matches_event)


def event_pattern_validation() -> None:
    """moto's EventPatternParser.parse rejects what PutRule rejects, with EventBridge's reason."""
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPatternParser

    original = EventPatternParser.parse

    def parse(self: Any) -> dict[str, Any]:
        pattern = original(self)
        if pattern:
            try:
                matching.validate_pattern(pattern)
            except matching.InvalidEventPattern as error:
                raise InvalidEventPatternException(reason=error.aws_message) from None
        return pattern

    _replace(EventPatternParser, "parse", parse)


#: Every correction, in the order `patch_moto` applies them.
CORRECTIONS = (
    sns_filter_follows_documented_semantics,
    sns_filter_policy_validation,
    event_pattern_follows_documented_semantics,
    event_pattern_validation,
)


def _replace(owner: type, name: str, function: Any) -> None:
    if getattr(getattr(owner, name), _MARK, False):
        return
    setattr(function, _MARK, True)
    function.__name__ = name
    function.__wrapped__ = getattr(owner, name)
    setattr(owner, name, function)


def is_patched() -> bool:
    """Whether moto in this process runs with labkit's filter and pattern corrections."""
    from moto.events.models import EventPattern
    from moto.sns.utils import FilterPolicyMatcher

    return bool(
        getattr(FilterPolicyMatcher.matches, _MARK, False)
        and getattr(EventPattern.matches_event, _MARK, False)
    )


def patch_moto() -> None:
    """Apply every correction (idempotent); on another moto version, warn and change nothing."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        warnings.warn(
            "labkit.moto_patches.filters_and_patterns was written for moto "
            f"{MOTO_VERSION}, found {moto.__version__}: "
            "filter policies and event patterns run on moto's own matcher until the "
            "corrections are checked against this version (tests/test_doc_cases.py)",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    for correction in CORRECTIONS:
        correction()
