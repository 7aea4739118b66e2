"""SQS receipt handles drawn in one go: the same handles, a fraction of the cost.

moto 5.2.5 builds each receipt handle from 185 separate random draws, which dominates a receive
of many messages. Here it is 185 random bytes mapped to letters, from the same seeded generator:
same length, alphabet and determinism. Nothing a client relies on changes (a receipt handle is
opaque on AWS too).
"""

from __future__ import annotations

from labkit.moto_patches.registry import Replace, Row

__all__ = ["ROWS"]

_LETTERS = bytes(97 + b % 26 for b in range(256))


def _generate_receipt_handle() -> str:
    from moto.moto_api._internal import mock_random

    return mock_random.randbytes(185).translate(_LETTERS).decode()


ROWS: list[Row] = [Replace("", "generate_receipt_handle", _generate_receipt_handle)]
