"""Errors a learner can meet, each saying what was expected, what was found and what to do."""

from __future__ import annotations

__all__ = ["LabError", "LabNotStarted", "UnknownBackend", "AwsNotAllowed", "RealAwsBlocked"]


class LabError(Exception):
    """A mistake in using the lab, explained.

    >>> print(LabError("a queue name", "nothing", "pass QueueName='orders'"))
    Expected a queue name, found nothing.
    What to do: pass QueueName='orders'
    """

    def __init__(self, expected: str, found: str, hint: str) -> None:
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(f"Expected {expected}, found {found}.\nWhat to do: {hint}")


class LabNotStarted(LabError):
    """A cell used the lab before the setup cell started it."""


class UnknownBackend(LabError):
    """The backend name is not one labkit knows."""


class AwsNotAllowed(LabError):
    """The real-account backend was asked for without the explicit opt-in."""


class RealAwsBlocked(LabError):
    """Something tried to reach real AWS while the lab runs on a mock."""
