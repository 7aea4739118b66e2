"""What labkit plugs in: patches to moto (where moto runs under labkit) and hooks on each lab.

Each module named in PATCHES has `patch_moto()`: it changes moto in this process, must be
idempotent, and is applied both for the embedded backend and inside `python -m labkit.server`.
Each module named in ATTACHERS has `attach(lab)`: it registers the lab's botocore hooks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.session import Lab

PATCHES: tuple[str, ...] = (
    "labkit.lean_imports",
    "labkit.fifo_groups",
    "labkit.clock",
    "labkit.fastpath",
    "labkit.sqs_fidelity",
    "labkit.runtime",
    "labkit.bridges",
    "labkit.fidelity",
    "labkit.ddb_atomic",
)

ATTACHERS: tuple[str, ...] = (
    "labkit.advice",
    "labkit.clock",
    "labkit.realaws",
    "labkit.tracing",
    "labkit.runtime",
    "labkit.bridges",
    "labkit.saga",
)


def patch_moto() -> None:
    for module_name in PATCHES:
        importlib.import_module(module_name).patch_moto()


def attach_all(lab: Lab) -> None:
    for module_name in ATTACHERS:
        importlib.import_module(module_name).attach(lab)
