"""botocore's data loader, shared by every botocore session labkit makes and by moto's look-ups.

A loader caches the service models and endpoint tables it has parsed; a fresh one per session
would parse them all again (a tenth of a second for the endpoint table alone), and moto makes its
own sessions and loaders for its region lists and request parsing.
"""

from __future__ import annotations

import functools
import os

import botocore.loaders

__all__ = ["shared_loader"]


@functools.cache
def shared_loader() -> botocore.loaders.Loader:
    """The one loader (made on first use).

    >>> shared_loader() is shared_loader()
    True
    """
    # What a default botocore session builds for its "data_loader", without building a session.
    return botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))
