"""The environment a mocked lab gives the processes a notebook starts (``!python``, ``!aws``,
``subprocess``): their AWS SDKs reach the lab's endpoint and carry no real credentials.

While a lab runs on ``embedded`` or ``endpoint``, ``os.environ`` holds fake credentials and
``AWS_ENDPOINT_URL`` at the lab (the labkit server's URL; on ``embedded``, where moto lives inside
the notebook's process, a loopback port nothing listens on, so a child's call fails at once).
Every other ``AWS_*`` variable but the region and the CA bundle goes (session tokens, profiles,
role and container credential sources, ``AWS_ENDPOINT_URL_<SERVICE>``,
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``), the config and credentials files are paths that cannot
exist, EC2 instance metadata (an address outside the machine) is off, and ``NO_PROXY`` keeps
loopback and the lab's host away from any proxy. The last lab to stop puts every variable back as
it was, absent ones absent.

The notebook's own process reads the same ``os.environ``: there botocore ignores configured
endpoint URLs while a lab runs, so clients moto makes for itself (Step Functions' service
integrations) and plain ``boto3.client(...)`` calls behave as before, answered by moto on
``embedded`` and refused by the guard on ``endpoint``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from labkit.lab.backends import FAKE_CREDENTIALS
from labkit.moto_patches.registry import Change, Custom, Replace, Undo

__all__ = ["CHANGE", "SINK", "lab_started", "lab_stopped"]

#: Where a child's SDK goes on ``embedded``: the discard port on loopback, where nothing listens.
SINK = "http://127.0.0.1:9"
#: Variables kept: the region is no secret, and the CA bundle is whom TLS trusts (a server of
#: your own on https), no credential.
KEEP = ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CA_BUNDLE")
#: A file under the null device cannot exist (nor be created).
ABSENT_FILE = os.path.join(os.devnull, "aws")
FIXED = {
    "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
    "AWS_CONFIG_FILE": ABSENT_FILE,
    "AWS_SHARED_CREDENTIALS_FILE": ABSENT_FILE,
    "AWS_EC2_METADATA_DISABLED": "true",
}
LOOPBACK = ("localhost", "127.0.0.1", "::1")
NO_PROXY = ("NO_PROXY", "no_proxy")

_endpoints: list[str] = []  # each running mocked lab's endpoint, the latest last
_before: dict[str, str | None] = {}  # every variable changed, as it was (None: absent)


def _put(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _mask() -> Undo:
    """Take the AWS variables away (remembering them) and set the fixed ones."""
    dropped = [name for name in os.environ if name.startswith("AWS_") and name not in KEEP]
    changed = dict.fromkeys([*dropped, *FIXED, "AWS_ENDPOINT_URL", *NO_PROXY])
    _before.update({name: os.environ.get(name) for name in changed})
    _put(dict.fromkeys(dropped))
    _put(FIXED)

    def undo() -> None:
        _put(_before)
        _before.clear()
        _endpoints.clear()

    return undo


def _point_children() -> None:
    """AWS_ENDPOINT_URL at the latest lab; no proxy for loopback and the labs' hosts."""
    os.environ["AWS_ENDPOINT_URL"] = _endpoints[-1]
    hosts = [h.strip() for name in NO_PROXY for h in (_before.get(name) or "").split(",")]
    hosts += [*LOOPBACK, *(urlsplit(url).hostname or "" for url in _endpoints)]
    bypass = ",".join(dict.fromkeys(filter(None, hosts)))
    _put(dict.fromkeys(NO_PROXY, bypass))


def lab_started(endpoint_url: str | None) -> None:
    """A mocked lab started (the change is held): children now reach it."""
    _endpoints.append(endpoint_url or SINK)
    _point_children()


def lab_stopped(endpoint_url: str | None) -> None:
    """A mocked lab stopped: children reach the latest lab still running (if any)."""
    _endpoints.remove(endpoint_url or SINK)
    if _endpoints:
        _point_children()


def _no_configured_endpoint(provider: object) -> None:
    return None


CHANGE = Change(
    "aws_environment_for_children",
    "botocore.configprovider",
    "processes the notebook starts reach the lab with fake credentials; this process's clients "
    "ignore the AWS_ENDPOINT_URL the lab set for them",
    "https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html",
    [Custom(_mask), Replace("ConfiguredEndpointProvider", "provide", _no_configured_endpoint)],
    moto="",
)
