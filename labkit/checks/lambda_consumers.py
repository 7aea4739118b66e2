"""Checks for lesson 08 (Lambda consumers): a queue and its event source mapping set up as AWS
advises, and a handler that reports only the records that failed.
"""

from __future__ import annotations

__all__: list[str] = []
