"""A deployed handler: its settings, its workers and seeded faults, its mappings."""

from __future__ import annotations

import random
from dataclasses import KW_ONLY, InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.local.functions.faults import draw, loses_delete
from labkit.local.functions.invocation import invoke_direct
from labkit.local.functions.shared import TICK

if TYPE_CHECKING:
    from labkit.local.functions.events import Handler
    from labkit.local.functions.faults import Faults
    from labkit.local.functions.mapping import EventSourceMapping
    from labkit.local.functions.results import Invocation, Ledger
    from labkit.local.functions.runtime import Runtime

__all__ = ["MAX_EVENT_AGE", "MAX_TIMEOUT", "Function", "check_settings"]

#: Lambda's longest function timeout, in seconds.
MAX_TIMEOUT = 900
#: Lambda keeps an asynchronous event for at most six hours unless told less.
MAX_EVENT_AGE = 21_600.0


@dataclass(eq=False)
class Function:
    """A deployed handler: its ARN, settings, mappings and invocations.

    Each of its ``concurrency`` workers runs one invocation at a time, busy for the simulated
    time it takes; its faults are drawn from a generator seeded with ``faults.seed``.
    """

    runtime: Runtime
    name: str
    handler: Handler
    arn: str
    _: KW_ONLY
    concurrency: int
    timeout: float
    duration: float
    per_record: float
    faults: Faults
    retries: int
    dead_letter_url: str
    ledger: InitVar[Ledger]
    mappings: list[EventSourceMapping] = field(default_factory=list, init=False)
    #: what Lambda holds for the function (read before each run, on moto): its reserved
    #: concurrency (put_function_concurrency) and asynchronous settings
    #: (put_function_event_invoke_config)
    reserved: int | None = field(default=None, init=False)
    event_config: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._rng = random.Random(self.faults.seed)
        self._busy: list[float] = [0.0] * self.concurrency

    def __repr__(self) -> str:
        return f"<Function {self.name} concurrency={self.concurrency}>"

    @property
    def invocations(self) -> tuple[Invocation, ...]:
        """This function's invocations so far (since the lab started or was reset)."""
        return tuple(i for i in self.runtime.invocations if i.function == self.name)

    def consume(
        self,
        queue: str,
        *,
        batch_size: int = 10,
        window: float = 0.0,
        report_failures: bool = False,
        max_concurrency: int | None = None,
    ) -> EventSourceMapping:
        """Connect a queue (URL or ARN) to this function, like an event source mapping.

        ``window`` is MaximumBatchingWindowInSeconds; ``report_failures`` is
        ``FunctionResponseTypes=["ReportBatchItemFailures"]``; ``max_concurrency`` is
        ``ScalingConfig={"MaximumConcurrency": ...}``.
        """
        return self.runtime.connect(
            queue,
            self,
            batch_size=batch_size,
            window=window,
            report_failures=report_failures,
            max_concurrency=max_concurrency,
        )

    def invoke(self, event: Any) -> Any:
        """Call the handler once, synchronously (a RequestResponse invoke); errors propagate."""
        return invoke_direct(self, event, self.runtime.now(), ledger=self._ledger)

    # -- what the runtime's pollers and pushes use ------------------------------------------
    def free_worker(self, now: float) -> int | None:
        """A worker free at lab time `now`, or None when all are busy."""
        for i, until in enumerate(self._busy):
            if until <= now + TICK:
                return i
        return None

    def free_at(self) -> float:
        """When the first worker is free (in the past when one is free now)."""
        return min(self._busy)

    def occupy(self, worker: int, until: float) -> None:
        """Keep `worker` busy until lab time `until`."""
        self._busy[worker] = until

    def draw_faults(self, now: float) -> tuple[str, float]:
        """The faults for one invocation at `now`: (error or "", extra simulated seconds)."""
        return draw(self.faults, self._rng, now)

    def async_limits(self) -> tuple[int, float]:
        """Retries and the age (seconds) past which an asynchronous event is not retried: the
        function's event invoke config, else what it was deployed with and Lambda's 6 hours."""
        retries = self.event_config.get("MaximumRetryAttempts", self.retries)
        age = self.event_config.get("MaximumEventAgeInSeconds", MAX_EVENT_AGE)
        return int(retries), float(age)

    def on_failure(self) -> str:
        """The ARN of the function's on-failure destination ("" when it has none)."""
        destination = (self.event_config.get("DestinationConfig") or {}).get("OnFailure") or {}
        return str(destination.get("Destination") or "")

    def lose_delete(self) -> bool:
        """Whether the delete of one processed message is lost (``faults.duplicate``)."""
        return loses_delete(self.faults, self._rng)


def check_settings(
    handler: Handler, concurrency: int, timeout: float, duration: float, retries: int
) -> None:
    """Refuse what Lambda would refuse (or what is no handler), saying what to write."""
    if not callable(handler):
        raise LabError(
            "a handler function taking (event, context)",
            f"{type(handler).__name__} {handler!r}",
            "define `def handler(event, context): ...` and pass the function itself",
        )
    if not isinstance(concurrency, int) or concurrency < 1:
        raise LabError(
            "concurrency as a whole number of 1 or more",
            repr(concurrency),
            "write e.g. concurrency=2 for two invocations at a time",
        )
    if not 0 < timeout <= MAX_TIMEOUT or duration < 0:
        raise LabError(
            f"a timeout above 0 and at most {MAX_TIMEOUT} seconds, and durations >= 0",
            f"timeout={timeout!r}, duration={duration!r}",
            "Lambda's default timeout is 3 seconds and its longest 900 (15 minutes); duration "
            "and per_record are simulated time per call and per record",
        )
    if retries not in (0, 1, 2):
        raise LabError(
            "retries of 0, 1 or 2 (Lambda's MaximumRetryAttempts)",
            repr(retries),
            "asynchronous invocations are retried at most twice",
        )
