"""Where each node of a flow sits in a picture: layered columns by node kind, left to right.

The positions depend only on the flow, so the same lab draws the same picture every time.

>>> from labkit.trace import Flow, Hop
>>> hop = Hop(1, 0.0, "actor:shop", "arn:aws:sqs:us-east-1:123456789012:orders", "m1", "sent",
...           "observed")
>>> node_positions(Flow([hop]))
{'actor:shop': (0.0, 0.0), 'arn:aws:sqs:us-east-1:123456789012:orders': (1.0, 0.0)}
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from labkit.trace.flows import Flow

__all__ = ["node_positions"]

#: Which column of the layout each node kind goes in.
COLUMN = {
    "publisher": 0,
    "topic": 1,
    "bus": 1,
    "state machine": 1,
    "rule": 2,
    "queue": 3,
    "table": 3,
    "log group": 3,
    "service": 3,
    "dead-letter queue": 4,
    "function": 5,
    "consumer": 5,
}
#: The column of a topic, bus or state machine that a rule targets: between rules and queues.
RULE_TARGET = 2.5
#: How far below its source queue a dead-letter queue sits, in rows.
DLQ_DROP = 0.5


def node_positions(
    flow: Flow, graph: nx.MultiDiGraph | None = None
) -> dict[str, tuple[float, float]]:
    """Deterministic layered positions of the nodes of `graph` (default: ``flow.graph()``).

    Columns go by node kind, left to right; within a column, nodes sit near the average height
    of what feeds them, at least one unit apart.

    Parameters
    ----------
    flow : Flow
        The flow the graph was taken from: its order of first appearance breaks ties.
    graph : networkx.MultiDiGraph, optional
        The graph to lay out, e.g. ``flow.graph(idle=False)``; default ``flow.graph()``.

    Returns
    -------
    dict
        Node id -> (x, y): x is the column number, y the height (larger is higher).
    """
    graph = flow.graph() if graph is None else graph
    order = {node: i for i, node in enumerate(flow.nodes())}
    columns: dict[float, list[str]] = defaultdict(list)
    for node, data in graph.nodes(data=True):
        column: float = COLUMN.get(data["kind"], 3)
        if column < COLUMN["rule"] and any(
            graph.nodes[p]["kind"] == "rule" for p in graph.predecessors(node)
        ):
            column = RULE_TARGET  # a topic, bus or state machine a rule feeds: after the rule
        columns[column].append(node)
    positions: dict[str, tuple[float, float]] = {}
    for x, column in enumerate(sorted(columns)):
        nodes = columns[column]
        wanted: dict[str, float | None] = {}
        for node in nodes:
            ys = [positions[p][1] for p in graph.predecessors(node) if p in positions]
            wanted[node] = sum(ys) / len(ys) if ys else None
            if wanted[node] is not None and graph.nodes[node]["kind"] == "dead-letter queue":
                # half a row below its queue: the queue's arrow to its consumer passes above
                wanted[node] -= DLQ_DROP
        n = len(nodes)
        if all(w is None for w in wanted.values()):
            # first column (and orphans): order of appearance, centred
            nodes.sort(key=lambda m: order.get(m, 0))
            ys = [(n - 1) / 2.0 - i for i in range(n)]
        else:
            # sit level with what feeds you, at least one unit apart
            fallback = min((w for w in wanted.values() if w is not None), default=0.0)
            desired = {m: (w if w is not None else fallback - 1.0) for m, w in wanted.items()}
            nodes.sort(key=lambda m: (-desired[m], order.get(m, 0)))
            ys = []
            for node in nodes:
                y = desired[node]
                ys.append(min(y, ys[-1] - 1.0) if ys else y)
            shift = (sum(desired.values()) - sum(ys)) / n  # zero unless pushed apart
            ys = [y + shift for y in ys]
        for node, y in zip(nodes, ys, strict=True):
            positions[node] = (float(x), round(y, 6))
    return positions
