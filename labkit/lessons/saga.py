"""Saga plumbing: drive Step Functions executions with the lab's workers, inject faults, read
the shop's ledgers, check that a saga left them consistent, and draw which compensations ran.

The saga itself (the state machine, the services, the rules) is the lesson's: labkit only
provides what sits around it.

* `FaultPlan`: which operation fails, and how (a business rejection, a transient outage that
  heals after some attempts, or an outage that lasts until someone repairs it).
* `run_executions`: wait for executions to end while `lab.functions` runs the workers that answer
  their task tokens (moto runs executions on a thread, in real time).
* `read_shop` / `check_consistency`: the shop's tables as plain values, and the invariants a saga
  must keep (nobody charged without stock, no stock held without payment, each compensation
  applied at most once, money and stock conserved).
* `failure_matrix` / `plot_failure_matrix` (from `labkit.plots`): for each failure point, which
  compensations ran and in which order.
* `choreography_flow`: the events a choreographed saga put on its bus, as hops that
  `labkit.plots.plot_saga` draws like an orchestrated execution.

>>> plan = FaultPlan({"charge": "reject", "refund": 2})
>>> try:
...     plan.hit("charge")
... except Rejected as no:
...     print(no.code)
Payments.Declined
>>> plan.attempts("charge")
1
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError
from labkit.plots.failure_matrix import failure_matrix, plot_failure_matrix
from labkit.trace.records import Hop, actor

if TYPE_CHECKING:
    from labkit.lab.session import Lab
    from labkit.parts import Hooks
    from labkit.trace.flows import Flow

__all__ = [
    "Rejected",
    "Unavailable",
    "FaultPlan",
    "REJECTION_CODES",
    "moto_execution",
    "run_executions",
    "run_workflows",
    "run_until_quiet",
    "Quiet",
    "ShopState",
    "read_shop",
    "Verdict",
    "check_consistency",
    "assert_consistent",
    "failure_matrix",
    "plot_failure_matrix",
    "choreography_flow",
    "SHOP_TABLES",
    "open_shop",
    "TaskTokens",
]

#: The error code a service answers with when it refuses an operation for a business reason.
REJECTION_CODES: dict[str, str] = {
    "charge": "Payments.Declined",
    "reserve": "Inventory.OutOfStock",
    "ship": "Shipping.NoCourier",
}
#: Table names `read_shop` reads (the lesson creates them with these names).
SHOP_TABLES = {
    "orders": "orders",
    "accounts": "accounts",
    "inventory": "inventory",
    "shipments": "shipments",
}


# -- faults -----------------------------------------------------------------------------------
class Rejected(Exception):
    """A service refused an operation for a business reason (declined card, no stock...).

    Permanent: asking again gives the same answer, so the saga must compensate.

    >>> str(Rejected("Inventory.OutOfStock", "no lamp left"))
    'Inventory.OutOfStock: no lamp left'
    """

    def __init__(self, code: str, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code}: {reason}" if reason else code)


class Unavailable(Exception):
    """A dependency is down: a technical failure that asking again later may fix."""


@dataclass
class FaultPlan:
    """Which operations fail, and how; the services call `hit(operation)` first.

    A spec per operation: ``"reject"`` (a business refusal, raises `Rejected`), a whole number
    ``n`` (down for the first ``n`` attempts, then fine: raises `Unavailable`), or ``"down"``
    (unavailable until `heal` is called).

    >>> plan = FaultPlan({"refund": "down"})
    >>> try:
    ...     plan.hit("refund")
    ... except Unavailable:
    ...     print("refund is down")
    refund is down
    >>> plan.heal()
    >>> plan.hit("refund")
    """

    specs: dict[str, str | int] = field(default_factory=dict)
    _attempts: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for operation, spec in self.specs.items():
            ok = spec in ("reject", "down") or (
                isinstance(spec, int) and not isinstance(spec, bool) and spec >= 0
            )
            if not ok:
                raise LabError(
                    '"reject", "down" or a number of failed attempts',
                    f"{operation}={spec!r}",
                    'write e.g. FaultPlan({"ship": "reject", "refund": 2})',
                )

    def hit(self, operation: str) -> None:
        """Count one attempt at `operation`; raise if the plan says it fails now."""
        with self._lock:
            attempt = self._attempts.get(operation, 0) + 1
            self._attempts[operation] = attempt
        spec = self.specs.get(operation)
        if spec == "reject":
            code = REJECTION_CODES.get(operation, f"{operation.title()}.Rejected")
            raise Rejected(code, f"{operation} refused (injected)")
        if spec == "down" or (isinstance(spec, int) and attempt <= spec):
            raise Unavailable(f"{operation}: service unavailable, attempt {attempt} (injected)")

    def attempts(self, operation: str) -> int:
        """How many times `operation` was tried."""
        return self._attempts.get(operation, 0)

    def heal(self) -> None:
        """The outages that wait for an operator (``"down"``) end; business rejections stay
        (they are not outages) and a transient fault keeps counting its failed attempts."""
        self.specs = {k: v for k, v in self.specs.items() if v != "down"}


# -- driving Step Functions executions --------------------------------------------------------
_REPORTS = ("SendTaskSuccess", "SendTaskFailure")
#: Real seconds an execution's history must stay unchanged before it counts as waiting.
STILL = 0.02
#: Real seconds to wait, after the clock moved to the end of a wait, for an execution to show
#: what that end did (the wait's thread notices it, then writes the history), before going on.
NOTICE_SECONDS = 2.0


class TaskTokens:
    """The task tokens the lab's clients reported on (``SendTaskSuccess`` / ``Failure``).

    A lab makes one the first time the saga helpers ask for it (``lab.part(TaskTokens)``): only
    labs that run sagas carry these hooks.
    """

    def __init__(self, hooks: Hooks) -> None:
        self.reported: set[str] = set()

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["labkit_saga_token"] = str(params.get("taskToken", ""))

        def record(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            if getattr(http_response, "status_code", 500) < 300:
                self.reported.add(context.get("labkit_saga_token", ""))

        for operation in _REPORTS:
            hooks.on(f"provide-client-params.sfn.{operation}", remember, "labkit-saga-token")
            hooks.on(f"after-call.sfn.{operation}", record, "labkit-saga-report")
        hooks.on_reset(self.reported.clear)


def _look(sfn: Any, execution: str, reported: set[str]) -> tuple[str, int, bool]:
    """(status, events so far, waiting for an unanswered task token), through the API."""
    described = sfn.describe_execution(executionArn=execution)
    status = described["status"]
    if status == "FAILED" and "error" not in described:
        return "RUNNING", -2, False  # moto sets the status a moment before the error
    if status != "RUNNING":
        return status, -1, False
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return status, len(events), _waiting_for_token(status, events, reported)


def _waiting_for_token(
    status: str, events: Sequence[Mapping[str, Any]], reported: set[str]
) -> bool:
    """Whether the execution waits for a task token nobody has answered yet."""
    if not events or events[-1]["type"] != "TaskSubmitted":
        return False  # between states, or sleeping in a Retry: look again
    scheduled = next(e for e in reversed(events) if e["type"] == "TaskScheduled")
    parameters = scheduled["taskScheduledEventDetails"].get("parameters", "")
    # a worker may have answered: the execution has not taken the answer in yet
    return not any(token and token in parameters for token in reported)


def moto_execution(lab: Lab, execution: str) -> Any | None:
    """moto's own execution object, when moto runs in this process with its interpreter."""
    if lab.backend.name != "embedded":
        return None
    from moto.stepfunctions.responses import get_backend

    region, account = execution.split(":")[3:5]
    try:
        found = get_backend(account, region).describe_execution(execution)
    except Exception:
        return None  # unknown to moto: the API call reports it the learner's way
    if not hasattr(found, "exec_worker"):
        return None  # moto without the Step Functions interpreter
    return found


def _look_in_process(
    lab: Lab, execution: str, reported: set[str]
) -> Callable[[], tuple[str, int, bool]] | None:
    """`_look` read straight from moto's execution, when moto runs in this process.

    The same answer as through the API, without serializing the whole history on every look:
    that serializing held the interpreter lock the execution's own thread needs to go on.
    """
    found = moto_execution(lab, execution)
    if found is None:
        return None

    def look() -> tuple[str, int, bool]:
        status = found.exec_status.value if found.exec_status is not None else "RUNNING"
        if status == "FAILED" and found.error is None:
            return "RUNNING", -2, False
        if status != "RUNNING":
            return status, -1, False
        env = found.exec_worker.env if found.exec_worker is not None else None
        if env is None:
            return "RUNNING", 0, False  # not started yet
        with env.event_manager._mutex:  # the execution's thread appends under this lock
            events = list(env.event_manager._history_event_list)
        return status, len(events), _waiting_for_token(status, events, reported)

    return look


def run_workflows(
    lab: Lab, *executions: str, seconds: float | None = None, timeout: float = 30.0
) -> dict[str, str]:
    """Run executions to their end on the lab's clock (or for `seconds` of it); their statuses.

    Whenever no execution can go on by itself (each waits for a task token, or on the clock),
    ``lab.functions`` work off what the tasks sent them; when nothing is left for them, the
    lab's clock moves to the end of the next wait: a Wait state, a Retry interval, a timeout
    or a heartbeat. ``RUNNING`` at the end means waiting for a task token nobody will answer,
    or, with `seconds`, not done when that much lab time has passed. `timeout` is in real seconds.

    >>> import labkit
    >>> lab = labkit.start_lab()
    >>> run_workflows(lab)
    {}
    >>> lab.stop()
    """
    sfn = lab.client("stepfunctions")
    reported = lab.part(TaskTokens).reported
    deadline = time.monotonic() + timeout
    until = None if seconds is None else lab.clock.elapsed() + float(seconds)
    last: dict[str, tuple[str, int, bool]] = {}
    # after the clock moved to a wait's end: what the executions looked like, and until when
    # (real time) to wait for one of them to show the change
    moved: tuple[dict[str, tuple[str, int, bool]], float] | None = None
    looks = {
        e: _look_in_process(lab, e, reported) or functools.partial(_look, sfn, e, reported)
        for e in executions
    }
    with lab.tracer.internal():
        while True:
            if time.monotonic() > deadline:
                raise LabError(
                    f"the executions to end within {timeout} s of real time",
                    f"still running: {sorted(e.rsplit(':', 1)[-1] for e in executions)}",
                    "check that every task's queue has a worker (lab.functions), and look for "
                    "a loop of states without end",
                )
            now = {e: looks[e]() for e in executions}
            if all(status != "RUNNING" for status, _, _ in now.values()):
                break
            if moved is not None and now == moved[0] and time.monotonic() < moved[1]:
                time.sleep(STILL)  # the wait that ended has not shown its effect yet
                continue
            moved = None
            if now != last:  # something moved since the last look: look again in a moment
                last = now
                time.sleep(STILL)
                continue
            if until is not None and not lab.clock.virtual and lab.clock.elapsed() >= until:
                break  # real time: the time asked for has passed, and nothing moves
            timers = lab.clock.timers() if lab.clock.virtual else []
            waiting = {owner for _, owner in timers}
            # every execution still running waits: for a token, or on a Wait or a Retry of its own
            if not all(token or e in waiting for e, (status, _, token) in now.items()
                       if status == "RUNNING"):  # fmt: skip
                time.sleep(STILL)  # a task is calling its service: look again in a moment
                continue
            # nothing runs by itself: the lab's workers take what the tasks sent them
            if lab.functions.run_until_idle().invocations:
                last = {}
                continue
            wait = timers[0][0] if timers else None
            if until is not None and (wait is None or lab.clock.elapsed() + wait > until):
                if until > lab.clock.elapsed():
                    lab.advance(round(until - lab.clock.elapsed(), 6))
                break  # the time asked for has passed
            if wait is None:
                break  # every execution waits for a task token: nothing the clock can do
            # land on the millisecond the wait ends, as the history will show it
            lab.advance(math.ceil(wait * 1000) / 1000)
            last, moved = {}, (now, time.monotonic() + NOTICE_SECONDS)
    for execution in executions:
        sfn.describe_execution(executionArn=execution)  # the tracer harvests the history
    return {execution: status for execution, (status, _, _) in now.items()}


def run_executions(lab: Lab, *executions: str, timeout: float = 30.0) -> dict[str, str]:
    """Run the lab's workers until every execution ends or waits, leaving the clock alone.

    An execution that waits, for a task token nobody answered yet or on the lab's clock (a
    Wait state, a Retry interval, a timeout), stays ``RUNNING``: its task message went where no
    worker takes it (a dead-letter queue), or it needs `lab.advance` (`run_workflows` moves the
    clock for it).

    >>> import labkit
    >>> lab = labkit.start_lab()
    >>> run_executions(lab)
    {}
    >>> lab.stop()
    """
    return run_workflows(lab, *executions, seconds=0, timeout=timeout)


@dataclass(frozen=True)
class Quiet:
    """What `run_until_quiet` did: rounds of ``run_until_idle`` and what the functions did."""

    rounds: int
    invocations: int
    processed: int
    failed: int
    dead_lettered: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.invocations} invocations: {self.processed} processed, {self.failed} failed, "
            f"{self.dead_lettered} dead-lettered, {self.seconds:.0f} s of lab time"
        )


def run_until_quiet(lab: Lab, *, max_rounds: int = 100) -> Quiet:
    """Run ``lab.functions`` until a whole round finds nothing to do.

    A choreography's functions feed each other's queues through the bus within the same instant;
    one more round picks up what arrived after a queue was last seen empty.

    >>> import labkit
    >>> lab = labkit.start_lab()
    >>> run_until_quiet(lab).rounds
    1
    >>> lab.stop()
    """
    runtime = lab.functions
    totals = [0, 0, 0, 0]
    seconds = 0.0
    for rounds in range(1, max_rounds + 1):
        ran = runtime.run_until_idle()
        totals[0] += len(ran.invocations)
        totals[1] += ran.processed
        totals[2] += ran.failed
        totals[3] += len(ran.dead_lettered)
        seconds += ran.ended - ran.started
        if not ran.invocations:
            return Quiet(rounds, *totals, round(seconds, 6))
    raise LabError(
        f"the functions to run out of work within {max_rounds} rounds",
        "they still had work",
        "look for events that trigger each other in a loop (a rule matching its own output)",
    )


# -- the shop's ledgers and its invariants ----------------------------------------------------
@dataclass(frozen=True)
class ShopState:
    """The shop's tables as plain values.

    ``orders``: order id -> status; ``balances``: customer -> balance; ``charges``: order id ->
    amount charged and not refunded; ``stock``: sku -> units on the shelf; ``holds``: order id ->
    units reserved; ``shipments``: orders with a courier booked.
    """

    orders: Mapping[str, str]
    balances: Mapping[str, int]
    charges: Mapping[str, int]
    stock: Mapping[str, int]
    holds: Mapping[str, int]
    shipments: frozenset[str]


def _number(value: Any) -> int:
    return int(Decimal(str(value)))


def _scan(lab: Lab, table: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    ddb = lab.client("dynamodb")
    plain = TypeDeserializer()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


#: Each shop table's partition key (a string attribute), as lesson 06 creates them.
SHOP_KEYS = {
    "orders": "order_id",
    "accounts": "customer",
    "inventory": "sku",
    "shipments": "order_id",
}


def open_shop(
    lab: Lab,
    *,
    balances: Mapping[str, int],
    stock: Mapping[str, int],
    couriers: Sequence[str] = (),
) -> list[str]:
    """Create the shop's tables as lesson 06 does in boto3, seeded; return their names.

    The four tables `read_shop` reads (``SHOP_TABLES``), billed per request, each customer's
    ``balance`` with no ``charges``, each product's ``stock`` with no ``holds``; given
    ``couriers``, a table ``couriers`` (key ``country``) with no ``bookings`` for each country.

    >>> from labkit import start_lab
    >>> lab = start_lab()
    >>> open_shop(lab, balances={"ana": 100}, stock={"lamp": 2}, couriers=["ES"])
    ['orders', 'accounts', 'inventory', 'shipments', 'couriers']
    >>> shop = read_shop(lab)
    >>> shop.balances, shop.stock, shop.orders
    ({'ana': 100}, {'lamp': 2}, {})
    >>> lab.stop()
    """
    ddb = lab.client("dynamodb")
    keys = {SHOP_TABLES[name]: key for name, key in SHOP_KEYS.items()}
    if couriers:
        keys["couriers"] = "country"
    for name, key in keys.items():
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        )
    for customer, balance in balances.items():
        ddb.put_item(
            TableName=SHOP_TABLES["accounts"],
            Item={
                "customer": {"S": customer},
                "balance": {"N": str(balance)},
                "charges": {"M": {}},
            },
        )
    for sku, units in stock.items():
        ddb.put_item(
            TableName=SHOP_TABLES["inventory"],
            Item={"sku": {"S": sku}, "stock": {"N": str(units)}, "holds": {"M": {}}},
        )
    for country in couriers:
        ddb.put_item(TableName="couriers", Item={"country": {"S": country}, "bookings": {"N": "0"}})
    return list(keys)


def read_shop(lab: Lab, tables: Mapping[str, str] | None = None) -> ShopState:
    """Read the shop's four tables (names as in `SHOP_TABLES`) into a `ShopState`.

    orders: ``order_id``, ``status``; accounts: ``customer``, ``balance``, map ``charges``
    (order id -> amount); inventory: ``sku``, ``stock``, map ``holds`` (order id -> units);
    shipments: ``order_id``.
    """
    names = {**SHOP_TABLES, **(tables or {})}
    with lab.tracer.internal():
        orders = {i["order_id"]: str(i.get("status", "")) for i in _scan(lab, names["orders"])}
        accounts = _scan(lab, names["accounts"])
        inventory = _scan(lab, names["inventory"])
        shipped = frozenset(str(i["order_id"]) for i in _scan(lab, names["shipments"]))
    charges = {o: _number(a) for acc in accounts for o, a in (acc.get("charges") or {}).items()}
    holds = {o: _number(q) for item in inventory for o, q in (item.get("holds") or {}).items()}
    return ShopState(
        orders=orders,
        balances={str(a["customer"]): _number(a["balance"]) for a in accounts},
        charges=charges,
        stock={str(i["sku"]): _number(i["stock"]) for i in inventory},
        holds=holds,
        shipments=shipped,
    )


@dataclass(frozen=True)
class Verdict:
    """What `check_consistency` found: ``ok`` and one line per broken invariant."""

    ok: bool
    problems: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return (
                f"consistent: {len(self.completed)} completed, {len(self.cancelled)} cancelled, "
                f"{len(self.pending)} pending"
            )
        return "INCONSISTENT:\n" + "\n".join(f"  - {p}" for p in self.problems)


#: What a saga must conserve, in a problem's words: what adds up to it, whose it was at the
#: start, and what applied twice would change it.
_CONSERVED = {
    "money": ("balances plus open charges", "the customers", "a charge or refund"),
    "stock": ("shelves plus holds", "the shop", "a reservation or release"),
}


def _total(*amounts: Mapping[str, int]) -> int:
    return sum(sum(each.values()) for each in amounts)


def check_consistency(
    state: ShopState,
    *,
    start_balances: Mapping[str, int],
    start_stock: Mapping[str, int],
    allow_pending: Iterable[str] = (),
) -> Verdict:
    """Check the invariants a finished saga must leave behind.

    Every order is COMPLETED (charged, stock held, shipment booked) or CANCELLED (nothing
    charged, nothing held, nothing shipped); money and stock are conserved (a refund or a release
    applied twice would create money or stock); a PENDING order is allowed only when listed in
    `allow_pending` (a saga still waiting for a repair).

    >>> state = ShopState({"o-1": "CANCELLED"}, {"ana": 100}, {}, {"lamp": 1}, {}, frozenset())
    >>> check_consistency(state, start_balances={"ana": 100}, start_stock={"lamp": 1}).ok
    True
    >>> state = ShopState({"o-1": "CANCELLED"}, {"ana": 70}, {"o-1": 30}, {"lamp": 1}, {},
    ...                   frozenset())
    >>> print(check_consistency(state, start_balances={"ana": 100}, start_stock={"lamp": 1}))
    INCONSISTENT:
      - o-1 is CANCELLED but still charged 30
    """
    problems: list[str] = []
    waiting = set(allow_pending)
    by_status: dict[str, list[str]] = {"COMPLETED": [], "CANCELLED": [], "PENDING": []}
    for order, status in sorted(state.orders.items()):
        charged, held = state.charges.get(order), state.holds.get(order)
        shipped = order in state.shipments
        by_status.setdefault(status, []).append(order)
        if status == "COMPLETED":
            missing = [
                what
                for what, there in (
                    ("charge", charged),
                    ("stock hold", held),
                    ("shipment", shipped),
                )
                if not there
            ]
            if missing:
                problems.append(f"{order} is COMPLETED without its {' and '.join(missing)}")
        elif status == "CANCELLED":
            if charged:
                problems.append(f"{order} is CANCELLED but still charged {charged}")
            if held:
                problems.append(f"{order} is CANCELLED but still holds {held} unit(s)")
            if shipped:
                problems.append(f"{order} is CANCELLED but a courier is booked")
        elif status == "PENDING":
            if order not in waiting:
                problems.append(f"{order} is still PENDING: its saga never finished")
        else:
            problems.append(f"{order} has an unknown status {status!r}")
    for order in sorted(set(state.charges) | set(state.holds) | state.shipments):
        if order not in state.orders:
            problems.append(f"{order} is charged, held or shipped but is not an order")
    totals = {
        "money": (_total(start_balances), _total(state.balances, state.charges)),
        "stock": (_total(start_stock), _total(state.stock, state.holds)),
    }
    for what, (start, now) in totals.items():
        if now != start:
            parts, owner, twice = _CONSERVED[what]
            problems.append(
                f"{what} is not conserved: {parts} are {now}, {owner} started with {start} "
                f"({twice} applied twice?)"
            )
    if any(value < 0 for value in [*state.balances.values(), *state.stock.values()]):
        problems.append("a balance or a stock count went below zero")
    return Verdict(
        ok=not problems,
        problems=tuple(problems),
        completed=tuple(by_status["COMPLETED"]),
        cancelled=tuple(by_status["CANCELLED"]),
        pending=tuple(by_status["PENDING"]),
    )


def assert_consistent(state: ShopState, **kwargs: Any) -> Verdict:
    """`check_consistency`, raising `LabError` when an invariant is broken."""
    verdict = check_consistency(state, **kwargs)
    if not verdict.ok:
        raise LabError(
            "a consistent shop after every saga",
            "; ".join(verdict.problems),
            "find the step whose compensation did not run, or ran twice, in the saga's trace",
        )
    return verdict


# -- a choreographed saga as a flow ------------------------------------------------------------
def choreography_flow(
    events: Sequence[Mapping[str, Any]],
    *,
    failures: Iterable[str],
    compensations: Iterable[str],
    run: str = "choreography",
    start_time: float = 0.0,
) -> Flow:
    """The EventBridge events of one choreographed saga as hops that `plot_saga` can draw.

    `events` are EventBridge events as delivered to a queue (``detail-type``, ``source``); those
    whose detail-type is in `failures` draw as the failure, in `compensations` as compensations,
    the rest as forward steps. The target of each step is the service that announced it (the
    event's source).

    >>> flow = choreography_flow(
    ...     [{"detail-type": "PaymentCharged", "source": "shop.payments"},
    ...      {"detail-type": "StockFailed", "source": "shop.inventory"}],
    ...     failures=["StockFailed"], compensations=[],
    ... )
    >>> [(s.state, s.kind) for s in flow.saga()]
    [('PaymentCharged', 'forward'), ('StockFailed', 'failed')]
    """
    from labkit.trace.flows import Flow

    failed, undo = set(failures), set(compensations)
    hops = []
    for seq, event in enumerate(events, start=1):
        name = str(event.get("detail-type", ""))
        kind = "failed" if name in failed else "compensated" if name in undo else "task"
        service = str(event.get("source", "")).split(".")[-1] or "service"
        hops.append(
            Hop(
                seq=seq,
                time=start_time,
                source=actor("bus"),
                target=actor(service),
                message_id=run,
                kind=kind,  # type: ignore[arg-type]
                evidence="observed",
                labels=(("state", name), ("execution", run)),
            )
        )
    return Flow(hops)
