"""Instructor mode: one call to make every labkit plot readable on a projector.

    import labkit.tools.instructor
    labkit.tools.instructor.presenter()        # every plot after this is presenter size
    labkit.tools.instructor.presenter(False)   # back to laptop size

Plots drawn with an explicit ``size=`` keep it; ``lab.reset()`` between demos empties the lab, the
trace and the clock; ``labkit.plots.animate_flow(lab)`` steps through a flow hop by hop.
"""

from __future__ import annotations

from labkit.plots.style import STYLE


def presenter(on: bool = True) -> bool:
    """Make presenter size the default for every labkit plot (``on=False`` undoes it)."""
    STYLE.present(on)
    return on


def presenting() -> bool:
    """True while presenter size is the default."""
    return STYLE.presenting
