"""Plots of a flow and of the lessons' runs, in one visual language (labkit.plots.style).

Each plot takes what it draws first (a flow, a lab, a lesson's results), ``ax=None`` to draw into
given axes, ``size=None`` for notebook or presenter size, and returns the Axes; the animation
returns an object that shows itself as HTML.

>>> import labkit
>>> from labkit.plots import plot_topology
>>> lab = labkit.start_lab()
>>> url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
>>> _ = lab.client("sqs").send_message(QueueUrl=url, MessageBody="order 1")
>>> ax = plot_topology(lab)
>>> ax.get_title()
'Topology: who sent what where'
>>> lab.stop()
"""

from labkit.plots import style
from labkit.plots.animation import FlowAnimation, animate_flow
from labkit.plots.batches import BatchBar, batch_bars, plot_batches
from labkit.plots.decoupling import plot_drain, plot_drain_times, plot_side_by_side, plot_swap
from labkit.plots.depth import plot_queue_depth
from labkit.plots.failure_matrix import plot_failure_matrix
from labkit.plots.groups import plot_group_order
from labkit.plots.layout import node_positions
from labkit.plots.metrics import plot_metrics
from labkit.plots.saga import plot_saga
from labkit.plots.sequence import SequenceRow, plot_sequence, sequence_rows
from labkit.plots.streams import StreamBatch, plot_stream_batches, stream_batches
from labkit.plots.style import *  # noqa: F403  (the visual language, as style.__all__ lists it)
from labkit.plots.topology import TopologyEdge, plot_topology, topology_edges
from labkit.plots.workflow import plot_workflow

__all__ = [
    *style.__all__,
    "BatchBar",
    "FlowAnimation",
    "SequenceRow",
    "StreamBatch",
    "TopologyEdge",
    "animate_flow",
    "batch_bars",
    "node_positions",
    "plot_batches",
    "plot_drain",
    "plot_drain_times",
    "plot_failure_matrix",
    "plot_group_order",
    "plot_metrics",
    "plot_queue_depth",
    "plot_saga",
    "plot_sequence",
    "plot_side_by_side",
    "plot_stream_batches",
    "plot_swap",
    "plot_topology",
    "plot_workflow",
    "sequence_rows",
    "stream_batches",
    "topology_edges",
]
