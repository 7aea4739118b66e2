"""SNS filter policies and EventBridge event patterns, matched as the AWS documentation says.

One matcher serves three uses: deciding deliveries (`filter_matches`, `pattern_matches`), saying
why something was not delivered (`explain_filter`, `explain_pattern`), and validating as AWS does
at Subscribe and PutRule time (`validate_filter_policy`, `validate_pattern`). It needs only the
standard library.

- `syntax`: operators, scopes, limits, "$or"
- `values`: what a message or event holds under a key, read as SNS and EventBridge read it
- `words`: how values and conditions are written for a learner
- `conditions`: one condition compiled into a test on one value, with its words
- `compile`: a validated policy or pattern compiled (and cached) into a tree that decides fast
- `evaluate`: the fast decisions
- `explain`: the decisions in sentences (`Verdict`)
- `validate`: the services' checks, with their words
- `errors`: what validation raises
- `access`: resource policies (a queue's, a topic's, a function's) deciding whether a service
  may deliver, and why not (`evaluate_policy`, `Request`, `Decision`)

>>> from labkit.matcher import explain_filter, explain_pattern
>>> policy = {"customer_interests": ["rugby", "tennis"]}
>>> attributes = {"customer_interests": {"DataType": "String", "StringValue": "baseball"}}
>>> verdict = explain_filter(policy, body="hello", attributes=attributes)
>>> verdict.matched
False
>>> print(verdict.reasons[0][:98])
The message attribute "customer_interests" is "baseball", but the policy only accepts a value that
>>> bool(explain_pattern({"source": ["shop.orders"]}, {"source": "shop.orders", "detail": {}}))
True
"""

from importlib import import_module

#: Where each public name lives. A submodule loads on first use: a lab that only decides
#: deliveries by policy never loads the explainer or the validator.
_SUBMODULES = {
    "access": ["Decision", "Request", "evaluate_policy"],
    "compile": ["Compiled", "compile_pattern", "compile_policy"],
    "errors": ["InvalidEventPattern", "InvalidFilterPolicy", "MatcherError"],
    "evaluate": ["filter_matches", "pattern_matches"],
    "explain": ["Verdict", "explain_filter", "explain_pattern"],
    "syntax": ["MAX_COMBINATIONS", "MAX_KEYS", "OPERATORS", "SCOPES"],
    "validate": ["combinations", "_combinations", "uses_wildcard"]
    + ["validate_filter_policy", "validate_pattern"],
}
_RENAMED = {"evaluate_policy": "evaluate", "_combinations": "combinations"}


def __getattr__(name: str) -> object:
    for submodule, names in _SUBMODULES.items():
        if name in names:
            value = getattr(import_module(f".{submodule}", __name__), _RENAMED.get(name, name))
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *(name for names in _SUBMODULES.values() for name in names)})


__all__ = [
    "Decision",
    "Request",
    "evaluate_policy",
    "Verdict",
    "MatcherError",
    "InvalidFilterPolicy",
    "InvalidEventPattern",
    "Compiled",
    "compile_policy",
    "compile_pattern",
    "explain_filter",
    "explain_pattern",
    "filter_matches",
    "pattern_matches",
    "validate_filter_policy",
    "validate_pattern",
    "uses_wildcard",
    "combinations",
    "SCOPES",
    "OPERATORS",
    "MAX_KEYS",
    "MAX_COMBINATIONS",
]
