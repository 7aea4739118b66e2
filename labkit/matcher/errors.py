"""The errors validation raises: AWS's own reason, and what to do about it.

>>> error = InvalidFilterPolicy("Empty arrays are not allowed", 'give "a" at least one value')
>>> print(error)
Expected a filter policy SNS accepts, found one it rejects (Empty arrays are not allowed).
What to do: give "a" at least one value
>>> isinstance(error, ValueError), error.aws_message
(True, 'Empty arrays are not allowed')
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["MatcherError", "InvalidFilterPolicy", "InvalidEventPattern"]


class MatcherError(ValueError):
    """A filter policy or event pattern the service rejects.

    `aws_message` is the service's reason, word for word; `hint` says how to fix it. `str()`
    reads as what was expected, what was found and what to do.
    """

    #: what the service accepts, for the first sentence
    expected: ClassVar[str] = "a policy the service accepts"

    def __init__(
        self, aws_message: str, hint: str, *, located: bool = False, internal: bool = False
    ) -> None:
        self.aws_message = aws_message
        self.hint = hint
        #: the service reports where in the JSON it stopped (its numeric-expression errors)
        self.located = located
        #: the service answers with an internal error instead of a validation error
        self.internal = internal
        self.found = f"one it rejects ({aws_message})"
        super().__init__(f"Expected {self.expected}, found {self.found}.\nWhat to do: {hint}")

    def __reduce__(self) -> Any:
        # the default would call the class with the one formatted message, which it cannot take
        return _rebuild, (type(self), self.aws_message, self.hint, self.located, self.internal)


class InvalidFilterPolicy(MatcherError):
    """A filter policy that SNS rejects at Subscribe / SetSubscriptionAttributes time.

    `aws_message` is the reason in the words SNS uses after "Invalid parameter: FilterPolicy: ".
    """

    expected = "a filter policy SNS accepts"

    @property
    def sns_message(self) -> str:
        """The whole message SNS answers a Subscribe or SetSubscriptionAttributes with.

        Its numeric-expression errors come from its JSON reader, prefixed "Attributes Reason:"
        and followed by where the reader stopped (abbreviated to "at ..." here, as moto does).

        >>> InvalidFilterPolicy("Value of < must be numeric", "", located=True).sns_message
        'Invalid parameter: Attributes Reason: FilterPolicy: Value of < must be numeric\\n at ...'
        """
        if self.located:
            return (
                f"Invalid parameter: Attributes Reason: FilterPolicy: {self.aws_message}\n at ..."
            )
        if self.aws_message.startswith("Filter policy scope"):
            return f"Invalid parameter: {self.aws_message}"
        return f"Invalid parameter: FilterPolicy: {self.aws_message}"


class InvalidEventPattern(MatcherError):
    """An event pattern that EventBridge rejects at PutRule time.

    `aws_message` is the reason in the words EventBridge uses after "Event pattern is not valid.
    Reason: ".
    """

    expected = "an event pattern EventBridge accepts"


def _rebuild(
    kind: type[MatcherError], aws_message: str, hint: str, located: bool, internal: bool
) -> MatcherError:
    return kind(aws_message, hint, located=located, internal=internal)
