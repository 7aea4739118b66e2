"""Where the lab's AWS lives: moto in-process, an AWS-compatible endpoint, or a real account."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from labkit.errors import AwsNotAllowed, LabError, UnknownBackend

__all__ = ["BACKENDS", "AWS_OPT_IN_VALUE", "Backend", "choose_backend"]

BACKENDS = ("embedded", "endpoint", "aws")
#: The value LABKIT_ALLOW_AWS must hold before the lab touches a real account.
AWS_OPT_IN_VALUE = "yes-i-know-this-uses-my-account"
#: moto's Step Functions runs state machines only when asked to.
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Backend:
    """The chosen backend and what it can do."""

    name: str
    endpoint_url: str | None = None
    #: moto answers (in-process or server): ids seeded, state reset, gaps bridged.
    is_moto: bool = False
    #: simulated time can be advanced instead of waited for.
    virtual_clock: bool = False


def choose_backend(name: str | None, endpoint_url: str | None, allow_aws: bool | None) -> Backend:
    """Resolve the backend from arguments first, then LABKIT_* environment variables."""
    name = name or os.environ.get("LABKIT_BACKEND") or "embedded"
    name = name.strip().lower()
    if name not in BACKENDS:
        raise UnknownBackend(
            f"one of {', '.join(BACKENDS)}",
            f"backend={name!r}",
            "use start_lab() for the in-process mock, start_lab(backend='endpoint', "
            "endpoint_url='http://127.0.0.1:5000') for a server, or unset LABKIT_BACKEND",
        )
    if name == "embedded":
        return Backend("embedded", is_moto=True, virtual_clock=True)
    if name == "endpoint":
        url = endpoint_url or os.environ.get("LABKIT_ENDPOINT_URL")
        if not url:
            raise LabError(
                "an endpoint URL for backend='endpoint'",
                "none (no endpoint_url argument, LABKIT_ENDPOINT_URL unset)",
                "start a server with `python -m labkit.server` and pass the URL it prints, "
                "e.g. start_lab(backend='endpoint', endpoint_url='http://127.0.0.1:5000')",
            )
        if not url.startswith(("http://", "https://")):
            raise LabError(
                "an endpoint URL starting with http:// or https://",
                repr(url),
                "write the full URL, e.g. 'http://127.0.0.1:5000'",
            )
        url = url.rstrip("/")
        info = probe_endpoint(url)
        return Backend(
            "endpoint",
            endpoint_url=url,
            is_moto=info.get("moto", False),
            virtual_clock=info.get("clock", False),
        )
    allowed = allow_aws if allow_aws is not None else None
    if allowed is None:
        allowed = os.environ.get("LABKIT_ALLOW_AWS") == AWS_OPT_IN_VALUE
    if not allowed:
        raise AwsNotAllowed(
            "an explicit opt-in before the lab uses a real AWS account (it can cost money)",
            "backend='aws' without it",
            f"set LABKIT_ALLOW_AWS={AWS_OPT_IN_VALUE} in the environment, or pass "
            "allow_aws=True; the lab then prefixes, tags and finally deletes what it creates",
        )
    return Backend("aws")


def probe_endpoint(url: str) -> dict[str, bool]:
    """Ask the endpoint what it is: a moto server, and one started by labkit (with a clock)."""
    info = {"moto": False, "clock": False}
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5) as resp:
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
        with urllib.request.urlopen(f"{url}/labkit-api/clock", timeout=5) as resp:
            info["clock"] = resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        pass
    return info


def post_json(url: str, payload: Any = None) -> Any:
    """POST to a moto-server admin route and return the decoded answer (or None)."""
    data = json.dumps(payload).encode() if payload is not None else b""
    req = urllib.request.Request(url, data=data, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
