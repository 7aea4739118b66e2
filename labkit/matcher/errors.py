"""The errors validation raises: AWS's own reason, and what to do about it.

>>> error = InvalidFilterPolicy("Empty arrays are not allowed", 'give "a" at least one value')
>>> print(error)
Expected a filter policy SNS accepts, found one it rejects (Empty arrays are not allowed).
What to do: give "a" at least one value
>>> isinstance(error, ValueError), error.aws_message
(True, 'Empty arrays are not allowed')
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["MatcherError", "InvalidFilterPolicy", "InvalidEventPattern"]


class MatcherError(ValueError):
    """A filter policy or event pattern the service rejects.

    `aws_message` is the service's reason, word for word; `hint` says how to fix it. `str()`
    reads as what was expected, what was found and what to do.
    """

    #: what the service accepts, for the first sentence
    expected: ClassVar[str] = "a policy the service accepts"

    def __init__(self, aws_message: str, hint: str) -> None:
        self.aws_message = aws_message
        self.hint = hint
        self.found = f"one it rejects ({aws_message})"
        super().__init__(f"Expected {self.expected}, found {self.found}.\nWhat to do: {hint}")

    def __reduce__(self) -> tuple[type[MatcherError], tuple[str, str]]:
        # the default would call the class with the one formatted message, which it cannot take
        return type(self), (self.aws_message, self.hint)


class InvalidFilterPolicy(MatcherError):
    """A filter policy that SNS rejects at Subscribe / SetSubscriptionAttributes time.

    `aws_message` is the reason in the words SNS uses after "Invalid parameter: FilterPolicy: ".
    """

    expected = "a filter policy SNS accepts"


class InvalidEventPattern(MatcherError):
    """An event pattern that EventBridge rejects at PutRule time.

    `aws_message` is the reason in the words EventBridge uses after "Event pattern is not valid.
    Reason: ".
    """

    expected = "an event pattern EventBridge accepts"
