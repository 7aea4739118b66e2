"""Talking to an AWS-compatible server's admin routes: what it is, and moto's controls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from labkit.errors import LabError

__all__ = ["post_json", "probe_endpoint"]

#: The lab's server is on this machine: a proxy from the environment (HTTP_PROXY) must not
#: carry its admin calls.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def probe_endpoint(url: str) -> dict[str, bool]:
    """Ask the endpoint what it is: a moto server, and one started by labkit (with a clock)."""
    info = {"moto": False, "clock": False}
    try:
        with _DIRECT.open(f"{url}/moto-api/data.json", timeout=5) as resp:
            info["moto"] = resp.status == 200
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            return info
        raise LabError(
            f"an AWS-compatible server answering at {url}",
            f"no answer ({exc})",
            "start one with `python -m labkit.server` (or LocalStack) and check the port",
        ) from None
    try:
        with _DIRECT.open(f"{url}/labkit-api/clock", timeout=5) as resp:
            info["clock"] = resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        pass
    return info


def post_json(url: str, payload: Any = None) -> Any:
    """POST to a moto-server admin route and return the decoded answer (or None)."""
    data = json.dumps(payload).encode() if payload is not None else b""
    req = urllib.request.Request(url, data=data, method="POST")
    with _DIRECT.open(req, timeout=10) as resp:
        body = resp.read()
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
