"""Tracing: the calls a lab's clients make, the hops AWS performs inside them, and their flow."""

from labkit.trace.flows import Flow, FlowLike, FlowSource, SagaStep, as_flow, short_name
from labkit.trace.records import Call, Hop

__all__ = ["Call", "Flow", "FlowLike", "FlowSource", "Hop", "SagaStep", "as_flow", "short_name"]
