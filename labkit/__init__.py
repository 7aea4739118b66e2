"""labkit: AWS messaging labs on moto, with every message traced and plotted."""

from labkit.backends import AWS_OPT_IN_VALUE, BACKENDS
from labkit.clock import Clock
from labkit.errors import AwsNotAllowed, LabError, LabNotStarted, RealAwsBlocked, UnknownBackend
from labkit.session import Lab, current_lab, start_lab
from labkit.terraform import export as to_terraform

__all__ = [
    "AWS_OPT_IN_VALUE",
    "BACKENDS",
    "AwsNotAllowed",
    "Clock",
    "Lab",
    "LabError",
    "LabNotStarted",
    "RealAwsBlocked",
    "UnknownBackend",
    "current_lab",
    "start_lab",
    "to_terraform",
]
