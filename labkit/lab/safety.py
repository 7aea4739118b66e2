"""Keep a mocked lab from ever reaching real AWS.

moto intercepts clients created after it was imported. A client made earlier, one aimed at an
address, one sent through a proxy, or one pointed at the real endpoints while the lab runs on a
server would go to the network. While a lab runs on ``embedded`` or ``endpoint`` the guard
refuses, with an error naming the way out:

* looking up an AWS host name (``socket.getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``),
  for every domain family in botocore's partitions and endpoint rules (`labkit.lab.awshosts`);
* connecting (``socket.socket.connect``, ``connect_ex``) to an AWS host, or to an address outside
  this machine that no allowed name lookup gave (an endpoint written as an IP address);
* asking a proxy for an AWS host: a ``CONNECT`` tunnel (``http.client``'s ``set_tunnel``, which
  urllib3 and urllib use) or a request in absolute form (``GET http://host/...``).

Processes the notebook starts get an environment that points their SDKs at the lab
(`labkit.lab.children`). The guard is held by each mocked lab and released by the last one.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from labkit.errors import RealAwsBlocked
from labkit.lab import children
from labkit.lab.awshosts import is_aws_host
from labkit.moto_patches.registry import Change, Custom, Registry, Undo, Wrap

__all__ = ["CLIENT_HINT", "GUARD", "guard_real_aws", "guard_active"]

CLIENT_HINT = (
    "make clients with lab.client('sqs') (not boto3.client(...)), which answer from the lab "
    "whatever the proxy settings; for a real account use start_lab(backend='aws') with the opt-in"
)
_EXPECTED = "every AWS call to stay on this machine while the lab runs on a mock"

_resolved: set[str] = set()  # addresses that allowed name lookups gave
_own: list[str] = []  # the running labs' endpoints written as addresses, one entry per lab
_lock = threading.Lock()


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").partition("%")[0])  # IPv6 scope ids
    except ValueError:
        return None


def _on_this_machine(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return address.is_loopback or address.is_unspecified or bool(mapped and mapped.is_loopback)


def _check(host: str, port: Any = None, how: str = "a connection to") -> None:
    """Refuse `host` (a name or an address) when it is AWS, or an address nothing vouches for;
    `how` says what was about to reach it."""
    where = f"{host}:{port}" if port else host
    address = _address(host)
    if address is None:
        if is_aws_host(host):
            raise RealAwsBlocked(_EXPECTED, f"{how} the real AWS host {where}", CLIENT_HINT)
        return
    if _on_this_machine(address) or str(address) in _resolved or str(address) in _own:
        return
    raise RealAwsBlocked(
        _EXPECTED,
        f"{how} {where}, an address outside this machine that no name lookup gave (an "
        "endpoint written as an IP address can be AWS)",
        f"write the server's host name instead of its address; {CLIENT_HINT}",
    )


def _text(host: Any) -> str:
    return host.decode() if isinstance(host, bytes) else str(host or "")


def _lookup(addresses: Callable[[Any], Iterable[str]]) -> Callable[[Any], Any]:
    """Wrap a name lookup: refuse AWS names and stray addresses, remember what names gave."""

    def wrap(lookup: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(lookup)
        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = _text(host)
            if name:
                _check(name, how="a name lookup of")
            found = lookup(host, *args, **kwargs)
            if name and _address(name) is None:
                _resolved.update(str(a) for a in map(_address, addresses(found)) if a is not None)
            return found

        return guarded

    return wrap


def _connect(connect: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(connect)
    def guarded(self: socket.socket, address: Any, *args: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(_text(address[0]), address[1])
        return connect(self, address, *args)

    return guarded


def _tunnel(set_tunnel: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(set_tunnel)
    def guarded(
        self: http.client.HTTPConnection, host: str, port: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        target = urlsplit(f"//{host}")  # "host:port" and "[v6]:port" both
        how = f"a tunnel (CONNECT) through the proxy {self.host}:{self.port} to"
        _check(target.hostname or host, port or target.port, how)
        return set_tunnel(self, host, port, *args, **kwargs)

    return guarded


def _absolute_form(putrequest: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(putrequest)
    def guarded(self: http.client.HTTPConnection, method: str, url: str, *a: Any, **k: Any) -> Any:
        if url.startswith(("http://", "https://")):  # only a proxy is sent a whole URL
            target = urlsplit(url)
            how = f"a request through the proxy {self.host}:{self.port} to"
            _check(target.hostname or "", target.port, how)
        return putrequest(self, method, url, *a, **k)

    return guarded


def _forget() -> Undo:
    """Addresses learnt while the guard is held are forgotten when it is released."""
    return _resolved.clear


NETWORK = Change(
    "refuse_real_aws",
    "socket",
    "nothing leaves the machine for AWS while a lab runs on a mock",
    "",
    [
        Wrap(socket, "getaddrinfo", _lookup(lambda found: (info[4][0] for info in found))),
        Wrap(socket, "gethostbyname", _lookup(lambda found: [found])),
        Wrap(socket, "gethostbyname_ex", _lookup(lambda found: found[2])),
        Wrap(socket.socket, "connect", _connect),
        Wrap(socket.socket, "connect_ex", _connect),
        Wrap(http.client.HTTPConnection, "set_tunnel", _tunnel),
        Wrap(http.client.HTTPConnection, "putrequest", _absolute_form),
        Custom(_forget),
    ],
    moto="",
)
GUARD = Registry([NETWORK, children.CHANGE])


def guard_real_aws(endpoint_url: str | None = None) -> Undo:
    """Hold the guard for one mocked lab; returns its release (the last release lifts it).

    `endpoint_url` is the lab's server (None on ``embedded``): it is allowed even when written
    as an address (a server in a container), and processes the notebook starts reach it.
    """
    address = _address(urlsplit(endpoint_url).hostname or "") if endpoint_url else None
    own = [str(address)] if address is not None else []
    with _lock:
        GUARD.acquire()
        _own.extend(own)
        children.lab_started(endpoint_url)
    released = threading.Event()

    def release() -> None:
        with _lock:
            if released.is_set():
                return
            released.set()
            for entry in own:
                _own.remove(entry)
            children.lab_stopped(endpoint_url)
            GUARD.release()

    return release


def guard_active() -> bool:
    """True while a mocked lab keeps real AWS out of reach."""
    return GUARD.holders > 0
