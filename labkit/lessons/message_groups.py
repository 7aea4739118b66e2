"""Message groups (lesson 01): the order each group's messages were received in, as rows and as a
plot. Both are drawing helpers and live in `labkit.plots.groups`; the lesson takes them from here.

>>> sent = [("ana", "o-1"), ("ben", "o-2"), ("ana", "o-3")]
>>> received = [("ben", "o-2"), ("ana", "o-1"), ("ana", "o-3")]
>>> [d.in_order for d in group_order(received, sent=sent)]
[True, True, True]
"""

from labkit.plots.groups import GroupDelivery, group_order, plot_group_order

__all__ = ["GroupDelivery", "group_order", "plot_group_order"]
