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

from .access import Decision, Request
from .access import evaluate as evaluate_policy
from .compile import Compiled, compile_pattern, compile_policy
from .errors import InvalidEventPattern, InvalidFilterPolicy, MatcherError
from .evaluate import filter_matches, pattern_matches
from .explain import Verdict, explain_filter, explain_pattern
from .syntax import MAX_COMBINATIONS, MAX_KEYS, OPERATORS, SCOPES
from .validate import combinations, uses_wildcard, validate_filter_policy, validate_pattern
from .validate import combinations as _combinations  # noqa: F401  (a name callers use)

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
