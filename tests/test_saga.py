"""The purchase saga of lesson 06, orchestrated (Step Functions) and choreographed (EventBridge),
under random failures of a step or a compensation, transient or permanent: the shop must end
consistent every time, with each compensation applied once."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import LabError
from labkit.lessons import allow_delivery, open_shop
from labkit.lessons.saga import (
    FaultPlan,
    Rejected,
    ShopState,
    Unavailable,
    assert_consistent,
    check_consistency,
    choreography_flow,
    failure_matrix,
    plot_failure_matrix,
    read_shop,
    run_executions,
    run_until_quiet,
)
from tests.scenarios import (
    catch_all,
    order_status_task,
    property_examples,
    queue_arn,
    queue_with_dlq,
    state_machine,
)

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first

FORWARD = ("charge", "reserve", "ship")
COMPENSATIONS = ("release", "refund")
BALANCE = 10_000
STOCK = 1_000


# -- the shop: the lesson's services, driven both ways -------------------------------------
@dataclass(frozen=True)
class Holding:
    """A service that holds part of a counter for an order: taken once, given back once."""

    table: str
    key: str  # the table's key, and the order's field that holds its value
    counter: str
    held: str  # the map of what each order holds, by order id
    size: str  # the order's field that says how much it takes
    take: str  # the command that takes; any other gives back
    rejected: str  # the error when too little is left
    answers: tuple[str, str, str, str]  # taken, taken before, given back, nothing to give back


PAYMENTS = Holding(
    "accounts",
    "customer",
    "balance",
    "charges",
    "amount",
    "charge",
    "Payments.Declined",
    ("charged", "charged before", "refunded", "nothing to refund"),
)
INVENTORY = Holding(
    "inventory",
    "sku",
    "stock",
    "holds",
    "qty",
    "reserve",
    "Inventory.OutOfStock",
    ("reserved", "held before", "released", "nothing to release"),
)


@dataclass
class Shop:
    lab: Any
    faults: FaultPlan = field(default_factory=FaultPlan)
    queues: dict[str, str] = field(default_factory=dict)
    dlqs: dict[str, str] = field(default_factory=dict)
    machine: str = ""
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.ddb = self.lab.client("dynamodb")
        self.sqs = self.lab.client("sqs")
        self.sfn = self.lab.client("stepfunctions")
        self.events = self.lab.client("events")
        open_shop(self.lab, balances={"ana": BALANCE}, stock={"lamp": STOCK})

    # the services (the lesson's business logic) ---------------------------------------------
    def _hold(self, holding: Holding, command: str, order: dict) -> str:
        """Take the order's share of the counter (once), or give it back (once)."""
        self.faults.hit(command)
        taken, taken_before, given, nothing_to_give = holding.answers
        counter, held, order_id = holding.counter, holding.held, order["order_id"]
        change = {
            "TableName": holding.table,
            "Key": {holding.key: {"S": order[holding.key]}},
            "ExpressionAttributeNames": {"#order": order_id},
            "ExpressionAttributeValues": {":n": {"N": str(order[holding.size])}},
        }
        failed = self.ddb.exceptions.ConditionalCheckFailedException
        if command == holding.take:
            try:
                self.ddb.update_item(
                    **change,
                    UpdateExpression=f"SET {counter} = {counter} - :n, {held}.#order = :n",
                    ConditionExpression=f"{counter} >= :n AND attribute_not_exists({held}.#order)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except failed as no:
                if order_id in no.response["Item"][held]["M"]:
                    return taken_before
                raise Rejected(holding.rejected) from None
            return taken
        try:
            self.ddb.update_item(
                **change,
                UpdateExpression=f"SET {counter} = {counter} + :n REMOVE {held}.#order",
                ConditionExpression=f"{held}.#order = :n",
            )
        except failed:
            return nothing_to_give
        return given

    def shipping(self, command: str, order: dict) -> str:
        self.faults.hit(command)
        try:
            self.ddb.put_item(
                TableName="shipments",
                Item={"order_id": {"S": order["order_id"]}},
                ConditionExpression="attribute_not_exists(order_id)",
            )
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return "booked before"
        return "booked"

    def orders(self, command: str, order: dict) -> str:
        status = {"confirm": "COMPLETED", "cancel": "CANCELLED"}[command]
        self.ddb.update_item(
            TableName="orders",
            Key={"order_id": {"S": order["order_id"]}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )
        return status

    def service(self, name: str) -> Callable[[str, dict], str]:
        return {
            "payments": functools.partial(self._hold, PAYMENTS),
            "inventory": functools.partial(self._hold, INVENTORY),
            "shipping": self.shipping,
            "orders": self.orders,
        }[name]

    def make_queue(self, name: str) -> str:
        url, dlq = queue_with_dlq(self.lab, name, max_receives=3)
        self.dlqs[name] = queue_arn(self.lab, dlq)
        self.queues[name] = url
        return url

    def order(self, style: str) -> dict:
        return {
            "order_id": f"{style}-{next(self.ids)}",
            "customer": "ana",
            "sku": "lamp",
            "qty": 1,
            "amount": 7,
        }

    def repair(self) -> None:
        """The outage ends; an operator moves every parked message back to its queue."""
        self.faults.heal()
        for dlq in self.dlqs.values():
            self.sqs.start_message_move_task(SourceArn=dlq)


# -- orchestration ---------------------------------------------------------------------------
def _command(url: str, name: str) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {
            "QueueUrl": url,
            "MessageBody": {"command": name, "order.$": "$.order", "token.$": "$$.Task.Token"},
        },
        "ResultPath": f"$.{name}",
    }


def _status(status: str) -> dict:
    return order_status_task(status, "$.order.order_id")


def orchestrate(shop: Shop) -> None:
    pay, inv, ship = (shop.make_queue(f"o-{n}") for n in ("payments", "inventory", "shipping"))
    definition = {
        "StartAt": "LockOrder",
        "States": {
            "LockOrder": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {
                    "TableName": "orders",
                    "Item": {"order_id": {"S.$": "$.order.order_id"}, "status": {"S": "PENDING"}},
                    "ConditionExpression": "attribute_not_exists(order_id)",
                },
                "ResultPath": None,
                "Next": "Charge",
            },
            "Charge": {**_command(pay, "charge"), "Catch": catch_all("Cancel"), "Next": "Reserve"},
            "Reserve": {**_command(inv, "reserve"), "Catch": catch_all("Refund"), "Next": "Ship"},
            "Ship": {**_command(ship, "ship"), "Catch": catch_all("Release"), "Next": "Confirm"},
            "Confirm": {**_status("COMPLETED"), "End": True},
            "Release": {**_command(inv, "release"), "Next": "Refund"},
            "Refund": {**_command(pay, "refund"), "Next": "Cancel"},
            "Cancel": {**_status("CANCELLED"), "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "PurchaseFailed"},
        },
    }
    shop.machine = state_machine(shop.lab, "purchase", definition)

    def worker(service: Callable[[str, dict], str]) -> Callable[[dict, Any], None]:
        def handler(event: dict, context: Any) -> None:
            for record in event["Records"]:
                message = json.loads(record["body"])
                try:
                    outcome = service(message["command"], message["order"])
                except Rejected as no:
                    report = shop.sfn.send_task_failure
                    kwargs = {"error": no.code, "cause": no.reason}
                else:
                    report = shop.sfn.send_task_success
                    kwargs = {"output": json.dumps({"outcome": outcome})}
                try:
                    report(taskToken=message["token"], **kwargs)
                except shop.sfn.exceptions.InvalidToken:
                    pass

        return handler

    for name, url in (("payments", pay), ("inventory", inv), ("shipping", ship)):
        shop.lab.functions.deploy(f"o-{name}", worker(shop.service(name))).consume(
            url, batch_size=1
        )


def run_orchestrated(shop: Shop, order: dict) -> str:
    arn = shop.sfn.start_execution(
        stateMachineArn=shop.machine, name=order["order_id"], input=json.dumps({"order": order})
    )["executionArn"]
    status = run_executions(shop.lab, arn)[arn]
    for _ in range(REPAIRS):
        if status != "RUNNING":
            break
        shop.repair()  # stuck on a dead-lettered task: an operator steps in
        status = run_executions(shop.lab, arn)[arn]
    return status


# -- choreography ----------------------------------------------------------------------------
REACTIONS = {
    "OrderPlaced": ("payments", "charge", "PaymentCharged", "PaymentFailed"),
    "PaymentCharged": ("inventory", "reserve", "StockReserved", "StockFailed"),
    "StockReserved": ("shipping", "ship", "ShipmentBooked", "ShipmentFailed"),
    "ShipmentBooked": ("orders", "confirm", "OrderCompleted", None),
    "ShipmentFailed": ("inventory", "release", "StockReleased", None),
    "StockReleased": ("payments", "refund", "PaymentRefunded", None),
    "StockFailed": ("payments", "refund", "PaymentRefunded", None),
    "PaymentRefunded": ("orders", "cancel", "OrderCancelled", None),
    "PaymentFailed": ("orders", "cancel", "OrderCancelled", None),
}


def choreograph(shop: Shop) -> None:
    shop.events.create_event_bus(Name="shop")

    def announce(service: str, name: str, order: dict) -> None:
        shop.events.put_events(
            Entries=[
                {
                    "Source": f"shop.{service}",
                    "DetailType": name,
                    "Detail": json.dumps(order),
                    "EventBusName": "shop",
                }
            ]
        )

    def reactor(name: str) -> Callable[[dict, Any], None]:
        service = shop.service(name)

        def handler(event: dict, context: Any) -> None:
            for record in event["Records"]:
                fact = json.loads(record["body"])
                _, command, ok, refused = REACTIONS[fact["detail-type"]]
                try:
                    service(command, fact["detail"])
                except Rejected:
                    announce(name, refused, fact["detail"])
                else:
                    announce(name, ok, fact["detail"])

        return handler

    for name in ("payments", "inventory", "shipping", "orders"):
        url = shop.make_queue(f"c-{name}")
        arn = shop.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        pattern = {"detail-type": [e for e, (who, *_) in REACTIONS.items() if who == name]}
        rule = shop.events.put_rule(
            Name=name, EventBusName="shop", EventPattern=json.dumps(pattern)
        )
        allow_delivery(shop.lab, rule["RuleArn"], arn["Attributes"]["QueueArn"])
        shop.events.put_targets(
            Rule=name,
            EventBusName="shop",
            Targets=[{"Id": name, "Arn": arn["Attributes"]["QueueArn"]}],
        )
        shop.lab.functions.deploy(f"c-{name}", reactor(name)).consume(url, batch_size=1)
    shop.announce = announce  # type: ignore[attr-defined]


def run_choreographed(shop: Shop, order: dict) -> str:
    shop.ddb.put_item(
        TableName="orders",
        Item={"order_id": {"S": order["order_id"]}, "status": {"S": "PENDING"}},
        ConditionExpression="attribute_not_exists(order_id)",
    )
    shop.announce("orders", "OrderPlaced", order)  # type: ignore[attr-defined]
    run_until_quiet(shop.lab)
    for _ in range(REPAIRS):
        if _order_status(shop, order) != "PENDING":
            break
        shop.repair()
        run_until_quiet(shop.lab)
    return _order_status(shop, order)


def _order_status(shop: Shop, order: dict) -> str:
    """The order's status: one GetItem (a scan of every order grows with each example)."""
    item = shop.ddb.get_item(
        TableName="orders", Key={"order_id": {"S": order["order_id"]}}, ConsistentRead=True
    )["Item"]
    return item["status"]["S"]


# -- the property ----------------------------------------------------------------------------
#: Each forward step and each compensation fails independently: not at all, for n attempts
#: (transient: 3 failures reach maxReceiveCount, so the last one parks the task in the
#: dead-letter queue), until an operator repairs it ("down"), or, for a forward step, with a
#: business refusal ("reject").
FORWARD_MODES = (None, None, None, 1, 2, 3, "down", "reject")
COMPENSATION_MODES = (None, None, 1, 2, 3, "down")
#: An operator repairs at most once per stuck round: each "down" or 3-attempt fault can need one.
REPAIRS = len(FORWARD) + len(COMPENSATIONS)
#: Examples per saga style: each runs a whole saga (about half a second), so `make test` draws
#: a sample and `make property` the full 200 (LABKIT_PROPERTY_EXAMPLES=200).
SAGA_EXAMPLES = property_examples(15)
#: How both saga styles are drawn (a whole saga takes long by design).
SAGA_SETTINGS = settings(
    max_examples=SAGA_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def failures(draw: st.DrawFn) -> dict[str, str | int]:
    """Random faults on any steps and compensations at once, transient or permanent."""
    plan: dict[str, str | int] = {}
    for operation in FORWARD:
        mode = draw(st.sampled_from(FORWARD_MODES), label=operation)
        if mode is not None:
            plan[operation] = mode
    for operation in COMPENSATIONS:
        mode = draw(st.sampled_from(COMPENSATION_MODES), label=operation)
        if mode is not None:
            plan[operation] = mode
    return plan


def expected_runs(plan: dict[str, str | int]) -> tuple[str | None, set[str]]:
    """The first refused step (None when none is) and every operation the saga must run."""
    refused = next((op for op in FORWARD if plan.get(op) == "reject"), None)
    ran = set(FORWARD if refused is None else FORWARD[: FORWARD.index(refused) + 1])
    if refused == "ship":
        ran |= {"release", "refund"}
    elif refused == "reserve":
        ran |= {"refund"}
    return refused, ran


def _expect(shop: Shop, plan: dict[str, str | int], order: dict, outcome: str) -> None:
    refused, ran = expected_runs(plan)
    state = read_shop(shop.lab)
    verdict = check_consistency(state, start_balances={"ana": BALANCE}, start_stock={"lamp": STOCK})
    assert verdict.ok, (plan, verdict.problems)
    assert state.orders[order["order_id"]] == ("CANCELLED" if refused else "COMPLETED"), plan
    for operation in (*FORWARD, *COMPENSATIONS):
        mode = plan.get(operation)
        tries = shop.faults.attempts(operation)
        if operation not in ran:
            assert tries == 0, (plan, operation, "ran although it should not")
        elif isinstance(mode, int):
            # retried until it worked: once more than it failed
            assert tries == mode + 1, (plan, operation, tries)
        elif mode is None or mode == "reject":
            assert tries == 1, (plan, operation, tries)
        else:
            assert tries >= 1, (plan, operation, tries)


@pytest.fixture(scope="module")
def shops() -> Iterator[dict[str, Shop]]:
    import labkit

    lab = labkit.Lab()
    lab.start()
    shop = Shop(lab)
    orchestrate(shop)
    choreograph(shop)
    yield {"shop": shop}
    lab.stop()


@pytest.mark.parametrize(
    ("style", "run", "ends"),
    [
        ("orch", run_orchestrated, ("FAILED", "SUCCEEDED")),  # the execution's status
        ("chor", run_choreographed, ("CANCELLED", "COMPLETED")),  # the order's status
    ],
)
@SAGA_SETTINGS
@given(plan=failures())
def test_saga_ends_consistent(
    shops: dict[str, Shop],
    style: str,
    run: Callable[[Shop, dict], str],
    ends: tuple[str, str],
    plan: dict,
) -> None:
    shop = shops["shop"]
    shop.faults = FaultPlan(dict(plan))
    order = shop.order(style)
    status = run(shop, order)
    refused, _ = expected_runs(plan)
    assert status == (ends[0] if refused else ends[1]), plan
    _expect(shop, plan, order, status)


# -- the plumbing on its own -----------------------------------------------------------------
def test_fault_plan_counts_attempts_and_heals() -> None:
    plan = FaultPlan({"refund": 1, "ship": "reject", "charge": "down"})
    with pytest.raises(Unavailable):
        plan.hit("refund")
    plan.hit("refund")
    with pytest.raises(Rejected) as refused:
        plan.hit("ship")
    assert refused.value.code == "Shipping.NoCourier"
    plan.heal()
    plan.hit("charge")
    with pytest.raises(Rejected):
        plan.hit("ship")  # a refusal is not an outage: healing does not change it
    assert (plan.attempts("refund"), plan.attempts("charge")) == (2, 1)


def test_fault_plan_rejects_a_bad_spec() -> None:
    with pytest.raises(LabError, match="reject"):
        FaultPlan({"refund": "sometimes"})


def _state(**kw: Any) -> ShopState:
    base: dict[str, Any] = {
        "orders": {"o-1": "CANCELLED"},
        "balances": {"ana": 100},
        "charges": {},
        "stock": {"lamp": 2},
        "holds": {},
        "shipments": frozenset(),
    }
    return ShopState(**{**base, **kw})


START = {"start_balances": {"ana": 100}, "start_stock": {"lamp": 2}}


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (_state(balances={"ana": 70}, charges={"o-1": 30}), "still charged 30"),
        (_state(stock={"lamp": 1}, holds={"o-1": 1}), "still holds 1"),
        (_state(shipments=frozenset({"o-1"})), "courier is booked"),
        (_state(orders={"o-1": "COMPLETED"}), "without its charge and stock hold and shipment"),
        (_state(orders={"o-1": "PENDING"}), "still PENDING"),
        (_state(balances={"ana": 130}), "money is not conserved"),
        (_state(stock={"lamp": 3}), "stock is not conserved"),
    ],
)
def test_check_consistency_names_each_broken_invariant(state: ShopState, problem: str) -> None:
    verdict = check_consistency(state, **START)
    assert not verdict.ok
    assert any(problem in p for p in verdict.problems), verdict.problems
    with pytest.raises(LabError, match="consistent shop"):
        assert_consistent(state, **START)


def test_check_consistency_accepts_completed_cancelled_and_waiting_orders() -> None:
    state = _state(
        orders={"o-1": "COMPLETED", "o-2": "CANCELLED", "o-3": "PENDING"},
        balances={"ana": 70},
        charges={"o-1": 30},
        stock={"lamp": 1},
        holds={"o-1": 1},
        shipments=frozenset({"o-1"}),
    )
    verdict = check_consistency(state, **START, allow_pending=["o-3"])
    assert verdict.ok, verdict.problems
    assert (verdict.completed, verdict.cancelled, verdict.pending) == (("o-1",), ("o-2",), ("o-3",))


def test_failure_matrix_numbers_compensations_in_run_order() -> None:
    runs = {"Ship": ["Release", "Refund", "Cancel"], "Charge": ["Cancel"], "nothing": []}
    columns = ["Release", "Refund", "Cancel"]
    assert failure_matrix(runs, columns) == ((1, 2, 3), (0, 0, 1), (0, 0, 0))
    ax = plot_failure_matrix(runs, columns)
    drawn = ax.images[0].get_array().tolist()
    assert drawn == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(runs)
    assert sum(t.get_text().startswith("ran #") for t in ax.texts) == 4
    with pytest.raises(LabError, match="compensations among"):
        failure_matrix({"Ship": ["Undo"]}, columns)


def test_choreography_flow_draws_as_a_saga() -> None:
    from labkit.plots import plot_saga

    events = [
        {"detail-type": "OrderPlaced", "source": "shop.orders"},
        {"detail-type": "ShipmentFailed", "source": "shop.shipping"},
        {"detail-type": "PaymentRefunded", "source": "shop.payments"},
    ]
    flow = choreography_flow(events, failures=["ShipmentFailed"], compensations=["PaymentRefunded"])
    steps = flow.saga()
    assert [(s.state, s.kind) for s in steps] == [
        ("OrderPlaced", "forward"),
        ("ShipmentFailed", "failed"),
        ("PaymentRefunded", "compensation"),
    ]
    ax = plot_saga(flow)
    assert ax.get_title() == "Saga timeline: execution choreography"
