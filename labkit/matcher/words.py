"""How values and conditions are written for a learner.

>>> alternatives([show("rugby"), show("tennis"), show(5)])
'"rugby", "tennis" or 5'
>>> verb('starts with "x"')
'start with "x"'
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["show", "alternatives", "verb"]

_VERBS = {"starts": "start", "ends": "end", "matches": "match", "is": "equal"}


def show(value: Any) -> str:
    """A value as JSON shows it (anything JSON has no form for, as its text)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def alternatives(items: list[str], word: str = "or") -> str:
    """'a', 'a or b', 'a, b or c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def verb(text: str) -> str:
    """'starts with "x"' -> 'start with "x"' (for "does not ...")."""
    first, _, rest = text.partition(" ")
    return f"{_VERBS.get(first, first)} {rest}"
