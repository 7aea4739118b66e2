"""What a starting lab plugs in, in order. Each entry's `attach(lab)` registers its hooks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.session import Lab

ATTACHERS = (
    "labkit.advice",
    "labkit.realaws",
)


def attach_all(lab: Lab) -> None:
    for module_name in ATTACHERS:
        importlib.import_module(module_name).attach(lab)
