"""moto's server finds a request's service without listing its package directory each time.

moto 5.2.5's server lists its own package directory on every request to find the service; the
list never changes while it runs, so it is listed once. Nothing a client sees changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from labkit.moto_patches.registry import Row, Wrap

__all__ = ["ROWS"]


def _listed_once(listing: Callable[[], Any]) -> Callable[[], Any]:
    return functools.cache(lambda: tuple(listing()))


ROWS: list[Row] = [Wrap("", "list_of_moto_modules", _listed_once)]
