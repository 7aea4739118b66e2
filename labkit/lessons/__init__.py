"""What the lessons share: the helpers a notebook imports besides the face and its checks.

Each lesson imports from here (``from labkit.lessons import take_all``); a helper lives here
once a second lesson needs it, so no notebook keeps its own copy.
"""

from labkit.lessons import decoupling
from labkit.lessons.capstone import ledger, pattern_table
from labkit.lessons.dynamodb import key_table
from labkit.lessons.inbox import take_all, take_bodies
from labkit.lessons.message_groups import plot_group_order
from labkit.lessons.permissions import allow_delivery
from labkit.lessons.pubsub import downstream, publisher_calls, subscriber_queue
from labkit.lessons.reuse import define_again
from labkit.lessons.saga import (
    FaultPlan,
    Rejected,
    check_consistency,
    choreography_flow,
    open_shop,
    plot_failure_matrix,
    read_shop,
    run_executions,
    run_until_quiet,
)
from labkit.lessons.tables import table
from labkit.tools.terraform import resources

__all__ = [
    "FaultPlan",
    "allow_delivery",
    "Rejected",
    "check_consistency",
    "choreography_flow",
    "decoupling",
    "define_again",
    "downstream",
    "key_table",
    "ledger",
    "open_shop",
    "pattern_table",
    "plot_failure_matrix",
    "plot_group_order",
    "publisher_calls",
    "read_shop",
    "resources",
    "run_executions",
    "run_until_quiet",
    "subscriber_queue",
    "table",
    "take_all",
    "take_bodies",
]
