"""moto's Step Functions lexer reports syntax errors through the error, not on stderr.

moto 5.2.5 collects the parser's syntax errors into the InvalidDefinition it answers, but leaves
the lexer's default listener in place, which prints ``line 1:0 token recognition error ...``
for every bad character of a definition that is not JSON: noise in a notebook's output, next to
the error that already says it. Nothing a client sees changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Change, Wrap

__all__ = ["CHANGE"]


def _quiet(init: Callable[..., None]) -> Callable[..., None]:
    def quiet_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.removeErrorListeners()

    return quiet_init


CHANGE = Change(
    "sfn_quiet_lexer",
    "moto.stepfunctions.parser.asl.parse.asl_parser",
    "a definition's syntax errors are not printed on stderr besides the error answered",
    "",
    [Wrap("ASLLexer", "__init__", _quiet)],
)
