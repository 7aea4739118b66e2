"""Keep a mocked lab from ever reaching real AWS.

moto intercepts clients created after it was imported. A client made earlier (or one pointed at
the real endpoints while the lab runs on a server) would go to the network: the guard refuses to
resolve AWS host names while a mocked lab runs, with an error naming the way out.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from typing import Any

from labkit.errors import RealAwsBlocked

__all__ = ["AWS_HOST", "guard_real_aws", "release_real_aws", "guard_active"]

AWS_HOST = re.compile(
    r"(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws|aws\.amazon\.com|aws\.dev)\.?$",
    re.IGNORECASE,
)

_lock = threading.Lock()
_original: Callable[..., Any] | None = None
_holders = 0


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if AWS_HOST.search(name):
        raise RealAwsBlocked(
            "every AWS call to go to the lab's mock while the lab runs",
            f"a connection to the real AWS host {name}",
            "make clients with lab.client('sqs') (not boto3.client(...) made before the lab "
            "started); for a real account use start_lab(backend='aws') with the opt-in",
        )
    assert _original is not None
    return _original(host, *args, **kwargs)


def guard_real_aws() -> None:
    """Start refusing AWS host names (nested calls are counted)."""
    global _original, _holders
    with _lock:
        _holders += 1
        if _original is None:
            _original = socket.getaddrinfo
            socket.getaddrinfo = _guarded_getaddrinfo


def release_real_aws() -> None:
    """Undo one guard_real_aws(); the last one restores name resolution."""
    global _original, _holders
    with _lock:
        _holders = max(0, _holders - 1)
        if _holders == 0 and _original is not None:
            socket.getaddrinfo = _original
            _original = None


def guard_active() -> bool:
    """True while a mocked lab keeps real AWS out of reach."""
    return _original is not None
