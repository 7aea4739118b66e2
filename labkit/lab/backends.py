"""Where the lab's AWS lives: moto in-process, an AWS-compatible endpoint, or a real account."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from labkit.endpoint import probe_endpoint
from labkit.errors import AwsNotAllowed, LabError, UnknownBackend
from labkit.lab.awshosts import is_aws_host

__all__ = ["BACKENDS", "AWS_OPT_IN_VALUE", "Backend", "choose_backend"]

BACKENDS = ("embedded", "endpoint", "aws")
#: The value LABKIT_ALLOW_AWS must hold before the lab touches a real account.
AWS_OPT_IN_VALUE = "yes-i-know-this-uses-my-account"
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

    @property
    def labkit_server(self) -> bool:
        """A ``python -m labkit.server`` answers: labkit's moto changes and bridges run there.

        >>> server = Backend("endpoint", "http://localhost:5000", is_moto=True, virtual_clock=True)
        >>> server.labkit_server
        True
        """
        return self.name == "endpoint" and self.is_moto and self.virtual_clock


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
        if is_aws_host(urlsplit(url).hostname or ""):
            raise LabError(
                "a server on this machine (or your network) for backend='endpoint'",
                f"{url!r}, a real AWS endpoint",
                "start one with `python -m labkit.server` and pass the URL it prints; for a real "
                "account use start_lab(backend='aws') with the opt-in",
            )
        info = probe_endpoint(url)
        return Backend(
            "endpoint",
            endpoint_url=url,
            is_moto=info.get("moto", False),
            virtual_clock=info.get("clock", False),
        )
    allowed = allow_aws
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
