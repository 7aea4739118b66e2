"""What labkit plugs in: patches to moto (where moto runs under labkit) and hooks on each lab.

Each module named in PATCHES has `patch_moto()`: it changes moto in this process, must be
idempotent, and is applied both for the embedded backend and inside `python -m labkit.server`.
Each module named in ATTACHERS has `attach(lab)`: it registers the lab's botocore hooks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.lab.session import Lab

PATCHES: tuple[str, ...] = (
    "labkit.moto_patches.lazy_batch",
    "labkit.moto_patches.sqs_fifo_groups",
    "labkit.local.clock",
    "labkit.moto_patches.sqs_fastpath",
    "labkit.moto_patches.sqs_dedup_window",
    "labkit.local.functions",
    "labkit.local.bridges",
    "labkit.moto_patches.filters_and_patterns",
    "labkit.moto_patches.ddb_atomic",
)

ATTACHERS: tuple[str, ...] = (
    "labkit.lab.advice",
    "labkit.local.clock",
    "labkit.lab.realaws",
    "labkit.trace.tracer",
    "labkit.local.functions",
    "labkit.local.bridges",
    "labkit.lessons.saga",
)


def patch_moto() -> None:
    for module_name in PATCHES:
        importlib.import_module(module_name).patch_moto()


def attach_all(lab: Lab) -> None:
    for module_name in ATTACHERS:
        importlib.import_module(module_name).attach(lab)
