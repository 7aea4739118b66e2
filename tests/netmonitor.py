"""A network monitor for the safety tests, installed *beneath* labkit's guard.

It wraps ``socket.getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex`` and
``socket.socket.connect`` / ``connect_ex`` before any lab starts, so the guard (which wraps what
it finds) sits on top: whatever reaches the monitor got past the guard. It records every lookup
and connection, and refuses each one that would leave the machine, so a test never sends anything
real. Child processes use it too (``python -c "from tests.netmonitor import Monitor; ..."``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["Monitor", "on_this_machine"]


def on_this_machine(host: str) -> bool:
    """Loopback (by address or as ``localhost``)."""
    try:
        return ipaddress.ip_address(host.strip("[]").partition("%")[0]).is_loopback
    except ValueError:
        return host.rstrip(".").lower() == "localhost"


class Monitor:
    """Every lookup and connection seen (``seen``), and those that would leave (``outside``).

    ``answers`` gives canned lookup results (name -> address) without asking any resolver.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []
        self.answers: dict[str, str] = {}

    def _note(self, what: str, host: str) -> bool:
        entry = f"{what} {host}"
        self.seen.append(entry)
        if on_this_machine(host):
            return True
        self.outside.append(entry)
        return False

    def _lookup(self, real: Callable[..., Any], canned: Callable[[str], Any]) -> Any:
        def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host or "localhost")
            if name in self.answers:
                self.seen.append(f"resolve {name}")
                return canned(self.answers[name])
            if not self._note("resolve", name):
                raise socket.gaierror(socket.EAI_NONAME, "refused by the test's network monitor")
            return real(host, *args, **kwargs)

        return lookup

    def _connect(self, real: Callable[..., Any]) -> Any:
        def connect(sock: socket.socket, address: Any, *args: Any) -> Any:
            inet = sock.family in (socket.AF_INET, socket.AF_INET6)
            if inet and not self._note("connect", str(address[0])):
                raise ConnectionRefusedError("refused by the test's network monitor")
            return real(sock, address, *args)

        return connect

    def install(self, setattr_: Callable[[Any, str, Any], None] = setattr) -> None:
        """Wrap the socket functions (`setattr_`: pytest's ``monkeypatch.setattr`` undoes it)."""
        port = 443
        setattr_(
            socket,
            "getaddrinfo",
            self._lookup(
                socket.getaddrinfo,
                lambda a: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))],
            ),
        )
        setattr_(socket, "gethostbyname", self._lookup(socket.gethostbyname, lambda a: a))
        setattr_(
            socket,
            "gethostbyname_ex",
            self._lookup(socket.gethostbyname_ex, lambda a: ("", [], [a])),
        )
        setattr_(socket.socket, "connect", self._connect(socket.socket.connect))
        setattr_(socket.socket, "connect_ex", self._connect(socket.socket.connect_ex))
