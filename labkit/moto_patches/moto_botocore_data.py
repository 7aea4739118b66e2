"""moto's region lists come from the endpoint table the lab's clients parsed already.

moto 5.2.5 builds a fresh botocore session for its region lists, which parses botocore's endpoint
table again (about a tenth of a second in every process that starts a lab). Here that session
reads through the one loader labkit's sessions share (`labkit.loader`). The table and every
answer are the same; only the parsing happens once. (moto's request parsing keeps its own
loader: it adds moto's extras to the service models.)
"""

from __future__ import annotations

import functools
from typing import Any

from labkit.loader import shared_loader
from labkit.moto_patches.registry import Replace, Row

__all__ = ["ROWS"]


@functools.cache
def _session() -> Any:
    """A boto3 session on the shared loader, for moto's region lists (made on first use)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    return boto3.Session(botocore_session=core)


def _get_session(cls: type) -> Any:
    return _session()


ROWS: list[Row] = [Replace("AccountSpecificBackend", "get_session", classmethod(_get_session))]
