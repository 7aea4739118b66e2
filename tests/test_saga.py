"""The purchase saga of lesson 06, orchestrated (Step Functions) and choreographed (EventBridge),
under random failures of a step or a compensation, transient or permanent: the shop must end
consistent every time, with each compensation applied once."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import LabError
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
from tests.scenarios import create_table, property_examples, state_machine, update_item_task

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first

FORWARD = ("charge", "reserve", "ship")
COMPENSATIONS = ("release", "refund")
BALANCE = 10_000
STOCK = 1_000


# -- the shop: the lesson's services, driven both ways -------------------------------------
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
        for name, key in (
            ("orders", "order_id"),
            ("accounts", "customer"),
            ("inventory", "sku"),
            ("shipments", "order_id"),
        ):
            create_table(self.lab, name, key)
        self.ddb.put_item(
            TableName="accounts",
            Item={"customer": {"S": "ana"}, "balance": {"N": str(BALANCE)}, "charges": {"M": {}}},
        )
        self.ddb.put_item(
            TableName="inventory",
            Item={"sku": {"S": "lamp"}, "stock": {"N": str(STOCK)}, "holds": {"M": {}}},
        )

    # the services (the lesson's business logic) ---------------------------------------------
    def _change(self, table: str, key: dict, order_id: str, name: str, value: int) -> dict:
        return {
            "TableName": table,
            "Key": key,
            "ExpressionAttributeNames": {"#order": order_id},
            "ExpressionAttributeValues": {name: {"N": str(value)}},
        }

    def payments(self, command: str, order: dict) -> str:
        self.faults.hit(command)
        key = {"customer": {"S": order["customer"]}}
        change = self._change("accounts", key, order["order_id"], ":amount", order["amount"])
        failed = self.ddb.exceptions.ConditionalCheckFailedException
        if command == "charge":
            try:
                self.ddb.update_item(
                    **change,
                    UpdateExpression="SET balance = balance - :amount, charges.#order = :amount",
                    ConditionExpression=(
                        "balance >= :amount AND attribute_not_exists(charges.#order)"
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except failed as no:
                if order["order_id"] in no.response["Item"]["charges"]["M"]:
                    return "charged before"
                raise Rejected("Payments.Declined") from None
            return "charged"
        try:
            self.ddb.update_item(
                **change,
                UpdateExpression="SET balance = balance + :amount REMOVE charges.#order",
                ConditionExpression="charges.#order = :amount",
            )
        except failed:
            return "nothing to refund"
        return "refunded"

    def inventory(self, command: str, order: dict) -> str:
        self.faults.hit(command)
        key = {"sku": {"S": order["sku"]}}
        change = self._change("inventory", key, order["order_id"], ":qty", order["qty"])
        failed = self.ddb.exceptions.ConditionalCheckFailedException
        if command == "reserve":
            try:
                self.ddb.update_item(
                    **change,
                    UpdateExpression="SET stock = stock - :qty, holds.#order = :qty",
                    ConditionExpression="stock >= :qty AND attribute_not_exists(holds.#order)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except failed as no:
                if order["order_id"] in no.response["Item"]["holds"]["M"]:
                    return "held before"
                raise Rejected("Inventory.OutOfStock") from None
            return "reserved"
        try:
            self.ddb.update_item(
                **change,
                UpdateExpression="SET stock = stock + :qty REMOVE holds.#order",
                ConditionExpression="holds.#order = :qty",
            )
        except failed:
            return "nothing to release"
        return "released"

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
            "payments": self.payments,
            "inventory": self.inventory,
            "shipping": self.shipping,
            "orders": self.orders,
        }[name]

    def make_queue(self, name: str) -> str:
        dlq = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        self.dlqs[name] = arn["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": self.dlqs[name], "maxReceiveCount": "3"}
        url = self.sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
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
    return update_item_task(
        "orders",
        {"order_id": {"S.$": "$.order.order_id"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def _catch(state: str) -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": state}]


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
            "Charge": {**_command(pay, "charge"), "Catch": _catch("Cancel"), "Next": "Reserve"},
            "Reserve": {**_command(inv, "reserve"), "Catch": _catch("Refund"), "Next": "Ship"},
            "Ship": {**_command(ship, "ship"), "Catch": _catch("Release"), "Next": "Confirm"},
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
        shop.events.put_rule(Name=name, EventBusName="shop", EventPattern=json.dumps(pattern))
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


@settings(
    max_examples=SAGA_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=failures())
def test_orchestrated_saga_ends_consistent(shops: dict[str, Shop], plan: dict) -> None:
    shop = shops["shop"]
    shop.faults = FaultPlan(dict(plan))
    order = shop.order("orch")
    status = run_orchestrated(shop, order)
    refused, _ = expected_runs(plan)
    assert status == ("FAILED" if refused else "SUCCEEDED"), plan
    _expect(shop, plan, order, status)


@settings(
    max_examples=SAGA_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=failures())
def test_choreographed_saga_ends_consistent(shops: dict[str, Shop], plan: dict) -> None:
    shop = shops["shop"]
    shop.faults = FaultPlan(dict(plan))
    order = shop.order("chor")
    status = run_choreographed(shop, order)
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
