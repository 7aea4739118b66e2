"""A local moto server for the `endpoint` backend, with the lab's simulated clock on top.

    python -m labkit.server                   # serve on 127.0.0.1:5000 until Ctrl-C
    python -m labkit.server --port 0 -- pytest --nbval notebooks
                                              # serve on a free port, run a command against it

The server is moto's ThreadedMotoServer with labkit's moto changes applied for its lifetime
(``labkit.moto_patches``: the same corrections, bridges and speed-ups as the embedded backend).
labkit adds four routes. ``/labkit-api/clock``: GET answers the server's simulated time, POST
``{"advance": seconds}`` moves it, POST ``{"reset": true}`` sends it back to the lab's start (each
answer also lists the pending Step Functions waits: simulated seconds left, execution); a
lab on the endpoint backend finds the route and advances time instead of waiting for it.
``/labkit-api/bridges``: POST answers (and forgets) what the bridges delivered since the last
call, for the lab's trace and its local functions. ``/labkit-api/policies``: POST
``{"enforce": false}`` lets deliveries skip resource policies (a lab started with
``enforce_policies=False``), ``{"enforce": true}`` obeys them again (the default).
``/labkit-api/outages``: POST ``{"endpoint": arn_or_url, "down": true}`` makes deliveries to an
endpoint fail with a server-side error, ``"down": false`` ends that (``lab.take_down``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from unittest import mock

from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from labkit.endpoint import MOTO_CONFIG, OUTAGES_ROUTE, POLICIES_ROUTE
from labkit.local.clock import Clock
from labkit.moto_patches import (
    REGISTRY,
    delivery_metrics,
    delivery_policies,
    delivery_retries,
    events_schedules,
    outbox,
)

__all__ = ["LabServer", "main"]

CLOCK_ROUTE = "/labkit-api/clock"
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _posted(environ: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a POST to a labkit route carries ({} for a GET)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return {}
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(size) or b"{}")
    return body if isinstance(body, dict) else {}


def _answer(start_response: Callable[..., Any], payload: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(payload).encode()]


class Route:
    """WSGI middleware answering one of labkit's routes (`path`) with the JSON of `answer`, given
    what a POST to it carried, and passing everything else to `app`."""

    path = ""

    def __init__(self, app: Wsgi) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != self.path:
            return self.app(environ, start_response)
        return _answer(start_response, self.answer(_posted(environ)))

    def answer(self, body: dict[str, Any]) -> Any:
        raise NotImplementedError


class ClockRoute(Route):
    """The clock route: the server's simulated time, moved or reset by a POST."""

    path = CLOCK_ROUTE

    def __init__(self, app: Wsgi, clock: Clock) -> None:
        super().__init__(app)
        self.clock = clock
        self.lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> Any:
        with self.lock:
            if body.get("reset"):
                self.clock.reset()
                delivery_retries.clear()
            if body.get("advance"):
                self.clock.advance(float(body["advance"]))
            return {
                "now": self.clock.now().isoformat(),
                "virtual": True,
                "timers": self.clock.timers(),
            }


class PoliciesRoute(Route):
    """The policies route: whether deliveries obey resource policies."""

    path = POLICIES_ROUTE

    def answer(self, body: dict[str, Any]) -> Any:
        if "enforce" in body:
            delivery_policies.ENFORCE["on"] = bool(body["enforce"])
        return {"enforce": delivery_policies.ENFORCE["on"]}


class OutagesRoute(Route):
    """The outages route: an endpoint taken down or brought back."""

    path = OUTAGES_ROUTE

    def answer(self, body: dict[str, Any]) -> Any:
        if body.get("endpoint"):
            if body.get("down"):
                delivery_retries.take_down(str(body["endpoint"]))
            else:
                delivery_retries.bring_back(str(body["endpoint"]))
        return {"down": delivery_retries.down_now()}


class BridgesRoute:
    """WSGI middleware: fires due schedules on every request, answers the bridges' route."""

    def __init__(self, app: Wsgi) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        events_schedules.catch_up()
        delivery_retries.catch_up()
        delivery_metrics.sample_queues()
        if environ.get("PATH_INFO") != outbox.ROUTE:
            return self.app(environ, start_response)
        return _answer(start_response, outbox.take())


class LabServer(ThreadedMotoServer):
    """ThreadedMotoServer with labkit's moto changes, its simulated clock and bridges routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.clock = Clock(virtual=True)
        self._config = mock.patch.dict(default_user_config, MOTO_CONFIG)

    def _server_entry(self) -> None:
        moto = DomainDispatcherApplication(create_backend_app)
        app = ClockRoute(PoliciesRoute(OutagesRoute(BridgesRoute(moto))), self.clock)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        for name in ("werkzeug", "moto"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        REGISTRY.acquire()
        # a server restarted on a lab's port runs state machines from the start, as the lab
        # asked the one before it to (put back when the server stops)
        self._config.start()
        self.clock.start()
        super().start()
        host, port = self.get_host_and_port()
        # moto's Step Functions calls back into the server it runs in; it needs the port.
        os.environ["MOTO_PORT"] = str(port)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.clock.stop()
            self._config.stop()
            REGISTRY.release()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument(
        "command", nargs="*", help="run this with LABKIT_BACKEND=endpoint, then stop"
    )
    args = parser.parse_args(argv)
    server = LabServer(args.host, args.port)
    server.start()
    try:
        if args.command:
            env = {**os.environ, "LABKIT_BACKEND": "endpoint", "LABKIT_ENDPOINT_URL": server.url}
            return subprocess.call(args.command, env=env)
        print(
            f"labkit server on {server.url}  (start_lab(backend='endpoint', "
            f"endpoint_url='{server.url}'); Ctrl-C stops it)",
            flush=True,
        )
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
