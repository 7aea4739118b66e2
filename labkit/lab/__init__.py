"""The lab: one AWS world for a notebook, on moto in this process, a server, or a real account."""

from labkit.lab.backends import AWS_OPT_IN_VALUE, BACKENDS
from labkit.lab.session import SERVICES, Lab, current_lab, flow, start_lab

__all__ = ["AWS_OPT_IN_VALUE", "BACKENDS", "SERVICES", "Lab", "current_lab", "flow", "start_lab"]
