"""The lab session: one object that starts the AWS world, hands out clients, resets and stops it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from moto import mock_aws
from moto.core.base_backend import BackendDict

from labkit.endpoint import MOTO_CONFIG, OUTAGES_ROUTE, POLICIES_ROUTE, post_json
from labkit.errors import LabError, LabNotStarted
from labkit.lab.advice import advise_errors
from labkit.lab.backends import FAKE_CREDENTIALS, Backend, choose_backend
from labkit.lab.realaws import Created, prefix_tag_and_record
from labkit.lab.safety import guard_real_aws
from labkit.loader import shared_loader
from labkit.local.bridges import Bridges
from labkit.local.clock import Clock, follow_long_polls
from labkit.local.functions import Runtime
from labkit.moto_patches import REGISTRY, delivery_policies, delivery_retries
from labkit.parts import Hook, Hooks
from labkit.trace.flows import Flow
from labkit.trace.tracer import Tracer

__all__ = ["Lab", "start_lab", "current_lab", "flow", "SERVICES"]

#: Services a lab hands out clients for.
SERVICES = (
    "sqs",
    "sns",
    "events",
    "stepfunctions",
    "dynamodb",
    "dynamodbstreams",
    "lambda",
    "iam",
    "logs",
    "sts",
    "scheduler",
    "cloudwatch",
    "s3",
)
QUIET_LOGGERS = ("moto", "werkzeug", "botocore.credentials")
#: A mocked lab's clients talk to the lab only: no proxy from the environment (the lab is on this
#: machine), and neither AWS_ENDPOINT_URL nor AWS_ENDPOINT_URL_<SERVICE> (nor a config file's
#: endpoint_url) can redirect them (botocore's args.py skips configured endpoints then). They make
#: one attempt: the lab never fails for a moment, so what it refuses it refuses again, and a
#: retry (standard mode retries LimitExceededException, for one) would only make the cell wait.
#: Legacy mode with no retries keeps AWS's error messages as they are (standard mode would add
#: "reached max retries: 0" to every one).
ON_THIS_MACHINE = Config(
    proxies={},
    ignore_configured_endpoint_urls=True,
    retries={"mode": "legacy", "max_attempts": 0},
)
DEFAULT_SEED = 15  # chapter 15
BOUND = "labkit-client-bound-to-its-lab"

_current: Lab | None = None
# the running lab of each AWS world (see Lab._claim_world)
_RUNNING: dict[str, Lab] = {}

P = TypeVar("P")


class Lab:
    """An AWS world for one notebook: in-process moto by default.

    Use it as a context manager, or start and stop it around notebook cells.

    >>> with Lab() as lab:
    ...     url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    ...     url.endswith("/123456789012/orders")
    True

    Its parts, built when it starts, each given only what it needs:

    * ``clock``: simulated time on the embedded backend (or a labkit server), real elsewhere;
    * ``tracer``: every call of the lab's clients and the hops AWS makes inside them;
    * ``bridges``: the deliveries labkit's moto changes make, followed into the trace;
    * ``functions``: Lambda-style handlers run locally, fed by queues, topics and rules;
    * ``created``: on the ``aws`` backend, what the lab made in the account (deleted on stop).
    """

    clock: Clock
    tracer: Tracer
    bridges: Bridges
    functions: Runtime
    created: Created | None

    def __init__(
        self,
        backend: str | None = None,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        seed: int = DEFAULT_SEED,
        allow_aws: bool | None = None,
        prefix: str = "lab-",
        enforce_policies: bool = True,
    ) -> None:
        self.backend: Backend = choose_backend(backend, endpoint_url, allow_aws)
        self._region = region
        self.seed = seed
        self.prefix = prefix
        self.enforce_policies = enforce_policies
        self.clock = Clock(
            virtual=self.backend.name == "embedded",
            remote_url=self.backend.endpoint_url if self.backend.virtual_clock else None,
        )
        self.created = None
        self._mock: Any = None
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}
        self._hooks: list[tuple[str, Hook, str]] = []
        self._parts: dict[Callable[[Hooks], Any], Any] = {}
        self._on_reset: list[Callable[[], None]] = []
        self._on_stop: list[Callable[[], None]] = []
        self._holds: list[Callable[[], None]] = []
        self.running = False

    @property
    def region(self) -> str:
        """The AWS region the lab's clients use."""
        return self._region

    @property
    def mocked(self) -> bool:
        """The lab runs on a mock (``embedded`` or ``endpoint``): real AWS is kept out of reach."""
        return self.backend.name != "aws"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Lab:
        """Start the backend, a fresh botocore session and the lab's parts (idempotent)."""
        if self.running:
            return self
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._claim_world()
        try:
            if self.mocked:
                self._holds.append(guard_real_aws(self.backend.endpoint_url))
            if self.backend.name == "embedded":
                REGISTRY.acquire()  # moto changes, reverted when the last lab stops
                self._holds.append(REGISTRY.release)
                self._holds.append(delivery_retries.clear)
                self._mock = mock_aws(config=MOTO_CONFIG)
                self._mock.start()
            elif self.backend.is_moto:
                post_json(f"{self.backend.endpoint_url}/moto-api/reset")
            self.clock.start()
            self._new_session()
            self.running = True
            self._seed_and_configure()
            self._set_policies(self.enforce_policies)
            self._build_parts()
        except BaseException:
            self.stop()
            raise
        return self

    def _world(self) -> str:
        """What this lab's resources live in: this process's moto, a server, an account."""
        if self.backend.name == "embedded":
            return "moto in this process"
        return self.backend.endpoint_url or f"the AWS account's region {self.region}"

    def _claim_world(self) -> None:
        """One running lab per world: a second one would share, reset and delete the first's
        resources."""
        other = _RUNNING.get(self._world())
        if other is not None and other is not self and other.running:
            raise LabError(
                "one running lab at a time on the same AWS world",
                f"{other!r} already running on {self._world()}",
                "stop it first (lab.stop()), or run the setup cell again: start_lab() stops "
                "the notebook's lab before it starts a new one",
            )
        world = self._world()
        _RUNNING[world] = self

        def release() -> None:
            if _RUNNING.get(world) is self:
                del _RUNNING[world]

        self._holds.append(release)

    def _build_parts(self) -> None:
        """The lab's parts, in the order their hooks must run: botocore calls the handlers of
        one event in the order they were registered, and the bridges must see a call after the
        tracer has recorded it."""
        embedded = self.backend.name == "embedded"
        advise_errors(self, self)
        follow_long_polls(self.clock, self)
        if self.backend.name == "aws":
            self.created = prefix_tag_and_record(self, self, self.prefix)
        self.tracer = Tracer(
            hooks=self, clients=self, clock=self.clock, moto=self.backend.is_moto,
            prefix=self.prefix,
        )  # fmt: skip
        self.bridges = Bridges(
            hooks=self, clock=self.clock, hops=self.tracer, in_process=embedded,
            server_url=self.backend.endpoint_url if self.backend.labkit_server else None,
        )  # fmt: skip
        self.functions = Runtime(
            clients=self, clock=self.clock, hooks=self, hops=self.tracer, bridges=self.bridges,
            seed=self.seed, in_process=embedded, moto=self.backend.is_moto,
        )  # fmt: skip

    def stop(self) -> None:
        """Tear everything down: hooks, clients, the mock or the created AWS resources.

        Every step runs even when one before it fails; the first failure is raised at the end.
        """
        failure: BaseException | None = None
        steps: list[Callable[[], None]] = [*reversed(self._on_stop)]
        steps += [self._remove_hooks, self._clients.clear, self._stop_mock, self.clock.stop]
        steps += reversed(self._holds)
        for step in steps:
            try:
                step()
            except BaseException as exc:  # one failing step must not leave the mock running
                failure = failure or exc
        self._on_stop.clear()
        self._on_reset.clear()
        self._holds.clear()
        self._parts.clear()
        was_running, self.running = self.running, False
        global _current
        if _current is self:
            _current = None
        if failure is not None and was_running:
            raise failure

    def reset(self) -> None:
        """Wipe every queue, topic, bus and trace; simulated time goes back to its start."""
        self._require_running("reset the lab")
        if self.backend.name == "embedded":
            # the services' state only: moto's own reset also forgets which URLs it answers
            BackendDict.reset()
        elif self.backend.name == "endpoint" and self.backend.is_moto:
            post_json(f"{self.backend.endpoint_url}/moto-api/reset")
        self.clock.reset()
        self._seed_and_configure()
        for callback in list(self._on_reset):
            callback()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def part(self, factory: Callable[[Hooks], P]) -> P:
        """The lab's part made by `factory`, made (with the lab's hooks) on first use.

        Lesson plumbing asks for what it needs, so only the labs that use it carry its hooks:

        >>> class Counter:
        ...     def __init__(self, hooks):
        ...         self.calls = 0
        >>> with Lab() as lab:
        ...     lab.part(Counter) is lab.part(Counter)
        True
        """
        self._require_running("add a part to the lab")
        if factory not in self._parts:
            self._parts[factory] = factory(self)
        return self._parts[factory]  # type: ignore[no-any-return]

    # -- clients and hooks --------------------------------------------------------------------
    @property
    def session(self) -> boto3.Session:
        """The boto3 session every lab client comes from."""
        self._require_running("use the lab's session")
        assert self._session is not None
        return self._session

    def client(self, service: str) -> Any:
        """A boto3 client for `service`, made from the lab's one session (cached)."""
        self._require_running(f"make a {service!r} client")
        if service not in SERVICES:
            raise LabError(
                f"one of the services the lab serves ({', '.join(SERVICES)})",
                repr(service),
                "check the spelling: EventBridge's client is 'events', Step Functions' is "
                "'stepfunctions'",
            )
        if service not in self._clients:
            kwargs: dict[str, Any] = {"region_name": self.region}
            if self.backend.endpoint_url:
                kwargs["endpoint_url"] = self.backend.endpoint_url
            config = Config(retries={"max_attempts": 2, "mode": "standard"})
            if service in ("dynamodb", "dynamodbstreams"):
                # botocore's account-based endpoints (<account>.ddb.<region>...) are AWS's only
                config = config.merge(Config(account_id_endpoint_mode="disabled"))
            if service == "s3" and self.backend.endpoint_url:
                # a bucket in the path, not in the host name: an endpoint is one host
                config = config.merge(Config(s3={"addressing_style": "path"}))
            if self.mocked:
                config = config.merge(ON_THIS_MACHINE)
            kwargs["config"] = config
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    def on(self, event_name: str, handler: Hook, unique_id: str) -> None:
        """Register a botocore event handler for the lab's lifetime (removed on stop).

        It reaches the lab's clients made from now on and those made already (botocore copies
        a session's handlers into each client when it makes it).
        """
        self._require_running("register a hook")
        self._core().register(event_name, handler, unique_id=unique_id)
        for client in self._clients.values():
            client.meta.events.register(event_name, handler, unique_id=unique_id)
        self._hooks.append((event_name, handler, unique_id))

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every reset (traces, bridges and runtimes clear themselves)."""
        self._on_reset.append(callback)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the lab stops."""
        self._on_stop.append(callback)

    def flow(self) -> Flow:
        """Everything this lab traced so far (``labkit.flow(lab)`` says the same)."""
        self._require_running("read the lab's flow")
        return self.tracer.flow()

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0) -> None:
        """Let lab time pass: instantly on the embedded backend, really elsewhere."""
        self._require_running("advance the clock")
        self.clock.advance(seconds, minutes=minutes)

    def take_down(self, endpoint: str) -> None:
        """Make every delivery SNS or EventBridge makes to `endpoint` (a queue, topic or function
        ARN, an HTTP/S URL) fail with a server-side error, from now until `bring_back`.

        AWS lets nobody switch its services off; this is the lab's stand-in for "the endpoint is
        unavailable", the failure SNS and EventBridge retry (a refusing policy or a deleted
        endpoint is the other kind, never retried).
        """
        self._outage(endpoint, down=True)

    def bring_back(self, endpoint: str) -> None:
        """End `endpoint`'s outage: the next retry of each delivery waiting for it reaches it."""
        self._outage(endpoint, down=False)

    def unavailable(self) -> tuple[str, ...]:
        """The endpoints taken down now (`take_down`), sorted; none on a backend whose services
        labkit does not run."""
        self._require_running("list the endpoints taken down")
        if self.backend.name == "embedded":
            return tuple(delivery_retries.down_now())
        if self.backend.labkit_server:
            answer = post_json(f"{self.backend.endpoint_url}{OUTAGES_ROUTE}", {})
            return tuple(answer.get("down", ())) if isinstance(answer, dict) else ()
        return ()

    def _outage(self, endpoint: str, *, down: bool) -> None:
        self._require_running("take an endpoint down or bring it back")
        name = "take_down" if down else "bring_back"
        if not isinstance(endpoint, str) or not endpoint.startswith(("arn:", "http")):
            raise LabError(
                "an endpoint's ARN (queue, topic, function) or an HTTP/S URL",
                repr(endpoint),
                f"pass what the subscription or target names, e.g. lab.{name}(queue_arn)",
            )
        if self.backend.name == "embedded":
            if down:
                delivery_retries.take_down(endpoint)
            else:
                delivery_retries.bring_back(endpoint)
        elif self.backend.labkit_server:
            post_json(
                f"{self.backend.endpoint_url}{OUTAGES_ROUTE}", {"endpoint": endpoint, "down": down}
            )
        else:
            raise LabError(
                "a lab whose AWS services labkit runs (embedded, or python -m labkit.server)",
                f"the {self.backend.name} backend",
                "AWS decides when its services are unavailable; on this backend, stop the "
                "consumer instead (a function's Faults(outages=...))",
            )
        self.bridges.sync()

    def describe(self) -> str:
        """One line saying what this lab runs on."""
        where = {
            "embedded": "moto in this Python process",
            "endpoint": f"the server at {self.backend.endpoint_url}",
            "aws": f"a real AWS account, region {self.region}, names prefixed {self.prefix!r}",
        }[self.backend.name]
        clock = "simulated" if self.clock.virtual else "real"
        policies = "obeyed" if self.enforce_policies else "skipped (enforce_policies=False)"
        if self.backend.name == "aws":
            policies = "obeyed (AWS decides)"
        return (
            f"lab on {self.backend.name} backend ({where}); clock: {clock}; "
            f"resource policies: {policies}"
        )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        skipped = "" if self.enforce_policies else ", policies skipped"
        return f"<Lab {self.backend.name} {state}{skipped}>"

    # -- internals -----------------------------------------------------------------------------
    def _require_running(self, action: str) -> None:
        if not self.running:
            raise LabNotStarted(
                f"a running lab to {action}",
                "a lab that is stopped" if self._session else "a lab not started yet",
                "run the notebook's first cell (lab = labkit.start_lab()) and try again",
            )

    def _new_session(self) -> None:
        if self.backend.name == "aws":
            core = botocore.session.Session()
            core.register_component("data_loader", shared_loader())
            self._session = boto3.Session(botocore_session=core, region_name=self.region)
        else:
            self._session = _mocked_session()
            core = self._core()
            core.set_config_variable("region", self.region)
            # registered before anything else, so every client this lab makes (lab.client or
            # lab.session.client) carries it, and kept after stop (Lab.on's hooks are removed);
            # the next lab on this session puts its own in its place
            core.unregister("provide-client-params", unique_id=BOUND)
            core.register("provide-client-params", self._bound_to(core), unique_id=BOUND)
        # boto3 adds its own data folder to the loader of every session it wraps: keep it once
        paths = shared_loader().search_paths
        paths[:] = dict.fromkeys(paths)

    def _bound_to(self, core: botocore.session.Session) -> Hook:
        """A handler refusing calls once this session's lab has stopped: the first event of a
        call, before any endpoint, name lookup or socket."""

        def refuse_when_stopped(model: Any, **_: Any) -> None:
            if self.running and self._core() is core:
                return
            service = model.service_model.service_name
            raise LabNotStarted(
                f"the running lab behind this {service} client",
                f"{service}.{model.name} on a client of a lab that has stopped (lab.stop(), the "
                "end of a `with` block, or the setup cell run again)",
                f"make the client again from the running lab: {service} = "
                f"lab.client({service!r}), after lab = labkit.start_lab() if no lab runs",
            )

        return refuse_when_stopped

    def _core(self) -> botocore.session.Session:
        assert self._session is not None
        return self._session._session  # type: ignore[no-any-return]

    def _remove_hooks(self) -> None:
        if self._session is not None:
            emitters = [self._core(), *(c.meta.events for c in self._clients.values())]
            for event_name, handler, unique_id in self._hooks:
                for emitter in emitters:
                    emitter.unregister(event_name, handler, unique_id=unique_id)
        self._hooks.clear()

    def _stop_mock(self) -> None:
        if self._mock is not None:
            mock, self._mock = self._mock, None
            mock.stop()

    def _set_policies(self, enforce: bool) -> None:
        """Deliveries obey resource policies (the default, as on AWS), or skip them; labkit's
        changes decide deliveries on embedded and on a labkit server, AWS decides elsewhere."""
        if self.backend.name == "embedded":
            delivery_policies.ENFORCE["on"] = enforce
            self._holds.append(lambda: delivery_policies.ENFORCE.update(on=True))
        elif self.backend.labkit_server:
            post_json(f"{self.backend.endpoint_url}{POLICIES_ROUTE}", {"enforce": enforce})

    def _seed_and_configure(self) -> None:
        if self.backend.name == "embedded":
            from moto.moto_api._internal import mock_random

            mock_random.seed(self.seed)
        elif self.backend.name == "endpoint" and self.backend.is_moto:
            url = self.backend.endpoint_url
            post_json(f"{url}/moto-api/seed?a={self.seed}")
            post_json(f"{url}/moto-api/config", MOTO_CONFIG)


def start_lab(backend: str | None = None, **options: Any) -> Lab:
    """Start (or restart) the notebook's lab; safe to run again: the old lab stops first.

    The arguments are checked (the backend resolved, an endpoint probed) before the old lab
    stops, so a mistaken setup cell leaves the working lab running.

    >>> lab = start_lab()
    >>> lab is current_lab()
    True
    >>> lab.stop()
    """
    global _current
    lab = Lab(backend, **options)
    if _current is not None:
        _current.stop()
    lab.start()
    _current = lab
    return lab


def current_lab() -> Lab:
    """The lab the setup cell started."""
    if _current is None or not _current.running:
        raise LabNotStarted(
            "a lab started by the notebook's first cell",
            "no running lab",
            "run the first cell (lab = labkit.start_lab()) and then this one again",
        )
    return _current


@functools.cache
def _mocked_session() -> boto3.Session:
    """The boto3 session every mocked lab of this process makes its clients from.

    A botocore session registers some 150 handlers of its own when made (a fiftieth of a second);
    one per process serves every lab that runs on moto, each lab adding and removing its own
    handlers (``Lab.on``) and binding its clients to itself.
    """
    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    return boto3.Session(botocore_session=core, region_name="us-east-1", **FAKE_CREDENTIALS)


def flow(lab: Lab | None = None) -> Flow:
    """Everything `lab` (default: the notebook's lab) traced so far, as a :class:`Flow`.

    >>> lab = start_lab()
    >>> list(flow()) == list(lab.flow())
    True
    >>> lab.stop()
    """
    return (lab or current_lab()).flow()
