"""Talking to an AWS-compatible server's admin routes: what it is, and moto's controls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from labkit.errors import LabError

__all__ = ["MOTO_CONFIG", "OUTAGES_ROUTE", "POLICIES_ROUTE", "post_json", "probe_endpoint"]

#: moto's Step Functions runs state machines only when asked to.
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}

#: A labkit server's route saying whether deliveries obey resource policies (labkit.tools.server).
POLICIES_ROUTE = "/labkit-api/policies"
#: A labkit server's route taking an endpoint down or bringing it back (labkit.tools.server).
OUTAGES_ROUTE = "/labkit-api/outages"

#: The lab's server is on this machine: a proxy from the environment (HTTP_PROXY) must not
#: carry its admin calls.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def probe_endpoint(url: str) -> dict[str, bool]:
    """Ask the endpoint what it is: a moto server, and one started by labkit (with a clock)."""
    info = {"moto": False, "clock": False}
    try:
        # moto's config route answers at once (its data.json walks every object the server
        # holds, which takes seconds on a server full of messages)
        with _DIRECT.open(f"{url}/moto-api/config", timeout=5) as resp:
            info["moto"] = resp.status in (200, 201)
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
    """POST to a moto-server admin route and return the decoded answer (or None).

    >>> post_json("http://127.0.0.1:9/labkit-api/clock")
    Traceback (most recent call last):
    ...
    labkit.errors.LabError: Expected the lab's server answering at http://127.0.0.1:9, ...
    """
    data = json.dumps(payload).encode() if payload is not None else b""
    req = urllib.request.Request(url, data=data, method="POST")
    try:
        with _DIRECT.open(req, timeout=10) as resp:
            body = resp.read()
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError) as exc:
        server = url.split("/", 3)
        base = "/".join(server[:3])
        reason = getattr(exc, "reason", exc)
        raise LabError(
            f"the lab's server answering at {base}",
            f"no answer ({reason})",
            f"start it again (python -m labkit.server --port {server[2].rsplit(':', 1)[-1]}), "
            "then run the notebook's first cell again: start_lab() resets the new server",
        ) from None
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
