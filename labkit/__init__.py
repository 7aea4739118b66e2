"""labkit: AWS messaging labs on moto, with every message traced and plotted.

>>> import labkit
>>> lab = labkit.start_lab()
>>> url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
>>> [hop.kind for hop in labkit.flow(lab)]
[]
>>> lab.stop()
"""

from labkit.errors import AwsNotAllowed, LabError, LabNotStarted, RealAwsBlocked, UnknownBackend
from labkit.lab import AWS_OPT_IN_VALUE, BACKENDS, Lab, current_lab, flow, start_lab
from labkit.local.clock import Clock
from labkit.local.functions import Faults
from labkit.matcher import explain_filter, explain_pattern
from labkit.plots import (
    animate_flow,
    plot_batches,
    plot_metrics,
    plot_queue_depth,
    plot_saga,
    plot_sequence,
    plot_topology,
)
from labkit.tools.terraform import export as to_terraform
from labkit.tools.terraform import write as write_terraform
from labkit.trace import Call, Flow, Hop
from labkit.trace.explain import why_not_delivered, why_not_matched

__all__ = [
    "AWS_OPT_IN_VALUE",
    "BACKENDS",
    "AwsNotAllowed",
    "Call",
    "Clock",
    "Faults",
    "Flow",
    "Hop",
    "Lab",
    "LabError",
    "LabNotStarted",
    "RealAwsBlocked",
    "UnknownBackend",
    "animate_flow",
    "current_lab",
    "explain_filter",
    "explain_pattern",
    "flow",
    "plot_batches",
    "plot_metrics",
    "plot_queue_depth",
    "plot_saga",
    "plot_sequence",
    "plot_topology",
    "start_lab",
    "to_terraform",
    "why_not_delivered",
    "why_not_matched",
    "write_terraform",
]
