"""The flow API: the graph behind the plots, exact for the canonical scenarios, on both backends."""

from __future__ import annotations

import dataclasses

import networkx as nx
import pytest

import labkit
from labkit.errors import LabError
from labkit.trace.flows import Flow, as_flow, short_name
from labkit.trace.records import Hop
from tests.scenarios import arn, event_routing, fan_out, hops, nodes, poison_message, saga


def edges(flow: Flow) -> dict[tuple[str, str, str], int]:
    graph = flow.graph()
    return {
        (short_name(u), short_name(v), k): d["count"]
        for u, v, k, d in graph.edges(keys=True, data=True)
    }


def kinds(flow: Flow) -> dict[str, str]:
    return {d["label"]: d["kind"] for _, d in flow.graph().nodes(data=True)}


def test_fan_out_graph(lab: labkit.Lab) -> None:
    fan_out(lab, physical=2, digital=1)
    flow = labkit.flow(lab)
    graph = flow.graph()
    assert isinstance(graph, nx.MultiDiGraph)
    assert kinds(flow) == nodes("fan_out")
    assert edges(flow) == hops("fan_out")
    filtered = graph.edges[arn("sns", "orders"), arn("sqs", "shipping"), "filtered"]
    assert filtered["evidence"] == "inferred" and filtered["via"] == "aws"


def test_event_routing_graph(lab: labkit.Lab) -> None:
    event_routing(lab)
    flow = labkit.flow(lab)
    assert kinds(flow) == nodes("event_routing")
    assert edges(flow) == hops("event_routing") | {
        ("refunds", "refunds-queue", "wired"): 0,  # the rule that did not match
    }
    assert "refunds-queue" not in {d["label"] for _, d in flow.graph(idle=False).nodes(data=True)}


def test_poison_message_graph_and_depths(lab: labkit.Lab) -> None:
    result = poison_message(lab, max_receives=3)
    flow = labkit.flow(lab)
    assert kinds(flow) == nodes("poison_message")
    assert edges(flow) == hops("poison_message")
    depths = {short_name(q): [(t, d) for t, _, d in s] for q, s in flow.queue_depths().items()}
    assert depths == {
        "payments": [(0.0, 0), (0.0, 1), (93.0, 0)],
        "payments-dlq": [(0.0, 0), (93.0, 1), (124.0, 0)],
    }
    assert [h.kind for h in flow.path(result["message_id"])] == [
        "sent", "received", "received", "received", "dead-lettered", "received", "processed",
    ]  # fmt: skip


def test_saga_graph_and_steps(lab: labkit.Lab) -> None:
    result = saga(lab)
    flow = labkit.flow(lab)
    assert kinds(flow) == nodes("saga")
    assert edges(flow) == hops("saga")
    steps = flow.saga()
    assert [(s.state, s.kind, short_name(s.target)) for s in steps] == [
        ("ReserveStock", "forward", "inventory"),
        ("ChargeCard", "failed", "payments"),
        ("ReleaseStock", "compensation", "inventory"),
    ]
    assert steps[1].detail.startswith("DynamoDB.ConditionalCheckFailedException")
    assert flow.executions() == (result["execution"],)
    assert flow.saga(result["execution"]) == steps


def test_flow_is_read_only_values(embedded_lab: labkit.Lab) -> None:
    fan_out(embedded_lab, physical=1, digital=0)
    flow = labkit.flow(embedded_lab)
    assert isinstance(flow[0], Hop) and len(flow[1:3]) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        flow[0].kind = "failed"  # type: ignore[misc]
    assert not hasattr(flow, "append")
    assert as_flow(embedded_lab).counts() == flow.counts()
    assert as_flow(list(flow)).counts() == flow.counts()
    assert len(flow.where(kind="delivered")) == 3


def test_learner_mistakes_say_what_to_do(embedded_lab: labkit.Lab) -> None:
    flow = labkit.flow(embedded_lab)
    with pytest.raises(LabError, match="message this flow has seen"):
        flow.path("no-such-id")
    with pytest.raises(LabError, match="Step Functions execution"):
        flow.saga()
    with pytest.raises(LabError, match="a Flow, a Lab"):
        as_flow(42)  # type: ignore[arg-type]
