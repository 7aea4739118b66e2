"""A visibility timeout of 0 makes a message receivable at once.

AWS: ``ChangeMessageVisibility`` with ``VisibilityTimeout=0`` makes the message immediately
visible to other consumers. moto 5.2.5 sets the message visible from "now" and compares strictly
(visible once the clock is past that moment), so while a lab's clock stands still the message
stays in flight until time moves. Here a zero timeout puts the moment one millisecond back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _zero_is_now(change_visibility: Callable[..., None]) -> Callable[..., None]:
    def change_visibility_now(self: Any, visibility_timeout: int) -> None:
        change_visibility(self, visibility_timeout)
        if int(visibility_timeout) == 0:
            self.visible_at -= 1  # milliseconds: visible to a receive at this very moment

    return change_visibility_now


ROWS: list[Row] = [Wrap("Message", "change_visibility", _zero_is_now)]
