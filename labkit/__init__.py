"""labkit: AWS messaging labs on moto, with every message traced and plotted.

>>> import labkit
>>> lab = labkit.start_lab()
>>> url = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
>>> [hop.kind for hop in labkit.flow(lab)]
[]
>>> lab.stop()
"""

from importlib import import_module

from labkit.errors import AwsNotAllowed, LabError, LabNotStarted, RealAwsBlocked, UnknownBackend
from labkit.lab import AWS_OPT_IN_VALUE, BACKENDS, Lab, current_lab, flow, start_lab
from labkit.local.clock import Clock
from labkit.local.functions import Faults
from labkit.trace import Call, Flow, Hop

_PLOTS = """animate_flow plot_batches plot_metrics plot_queue_depth plot_saga plot_sequence
plot_stream_batches plot_topology plot_workflow""".split()

#: Names whose modules load on first use ("module:attribute"): a lab starts without the drawing,
#: export and explaining code.
_LAZY = {
    **{name: f"labkit.plots:{name}" for name in _PLOTS},
    **{name: f"labkit.trace.explain:{name}" for name in ("why_not_delivered", "why_not_matched")},
    **{name: f"labkit.matcher:{name}" for name in ("explain_filter", "explain_pattern")},
    "to_terraform": "labkit.tools.terraform:export",
    "write_terraform": "labkit.tools.terraform:write",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    module, _, attribute = _LAZY[name].partition(":")
    globals()[name] = value = getattr(import_module(module), attribute)
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
    "plot_stream_batches",
    "plot_topology",
    "plot_workflow",
    "start_lab",
    "to_terraform",
    "why_not_delivered",
    "why_not_matched",
    "write_terraform",
]
