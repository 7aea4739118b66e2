"""moto's Step Functions lexer reports syntax errors through the error, not on stderr.

moto 5.2.5 collects the parser's syntax errors into the InvalidDefinition it answers, but leaves
the lexer's default listener in place, which prints ``line 1:0 token recognition error ...``
for every bad character of a definition that is not JSON: noise in a notebook's output, next to
the error that already says it. Nothing a client sees changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _quiet(init: Callable[..., None]) -> Callable[..., None]:
    def quiet_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.removeErrorListeners()

    return quiet_init


ROWS: list[Row] = [Wrap("ASLLexer", "__init__", _quiet)]
