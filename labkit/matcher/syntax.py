"""What a filter policy or an event pattern is made of: operators, scopes, limits, "$or".

>>> is_or("$or", [{"a": ["1"]}, {"b": ["2"]}])
True
>>> is_or("$or", [{"prefix": "x"}, {"b": ["2"]}])  # a key named "$or" holding conditions
False
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OPERATORS",
    "STRING_OPERATORS",
    "SCOPES",
    "MAX_KEYS",
    "MAX_COMBINATIONS",
    "MAX_POLICY_BYTES",
    "MAX_WILDCARD_RULES",
    "NUMERIC_LIMIT",
    "is_or",
]

SCOPES = ("MessageAttributes", "MessageBody")
#: SNS limits (subscription-filter-policy-constraints): keys per policy, value combinations.
MAX_KEYS = 5
MAX_COMBINATIONS = 150
#: SNS (subscription-filter-policy-constraints): "The maximum size of a filter policy is 256 KB".
MAX_POLICY_BYTES = 256 * 1024
#: EventBridge quotas (eb-quota): at most 30 rules per event bus may hold wildcard filters.
MAX_WILDCARD_RULES = 30
#: SNS numeric matching: values from -10^9 to 10^9 (subscription-filter-policy-constraints).
NUMERIC_LIMIT = 1e9
OPERATORS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "cidr",
    "exists",
)
#: the operators that compare text, alone or inside anything-but
STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_OPERATOR_SET = frozenset(OPERATORS)


def is_or(key: str, value: Any) -> bool:
    """ "$or" is an OR only when it holds 2+ objects whose keys are not operator names."""
    return (
        key == "$or"
        and isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(b, dict) and not (b.keys() & _OPERATOR_SET) for b in value)
    )
