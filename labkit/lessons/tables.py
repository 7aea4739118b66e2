"""Small tables for notebooks: shown as Markdown in Jupyter, as aligned text elsewhere.

>>> t = table(["rule", "matched"], [["big-orders", "o-2, o-3"], ["vip", "o-3"]])
>>> print(t)
rule       | matched
-----------+---------
big-orders | o-2, o-3
vip        | o-3
>>> print(t._repr_markdown_().splitlines()[1])
|---|---|
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labkit.errors import LabError

__all__ = ["Table", "table"]


@dataclass(frozen=True)
class Table:
    """A header and rows of text, every row as long as the header."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def _repr_markdown_(self) -> str:
        def line(cells: Sequence[str]) -> str:
            # a pipe inside a cell would end it early in Markdown
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        return "\n".join(
            [line(self.header), "|" + "---|" * len(self.header), *map(line, self.rows)]
        )

    def __str__(self) -> str:
        widths = [
            max(len(r[i]) for r in (self.header, *self.rows)) for i in range(len(self.header))
        ]

        def line(cells: Sequence[str]) -> str:
            return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        rule = "-+-".join("-" * w for w in widths)
        return "\n".join([line(self.header), rule, *map(line, self.rows)])

    def __repr__(self) -> str:
        return str(self)


def table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> Table:
    """A `Table` from any values (each shown with ``str``); rows must match the header's length.

    >>> table(["a", "b"], [[1]])
    Traceback (most recent call last):
    ...
    labkit.errors.LabError: Expected rows of 2 cells like the header, found a row of 1 cells: [1].
    What to do: give every row one value per column
    """
    head = tuple(str(h) for h in header)
    for row in rows:
        if len(row) != len(head):
            raise LabError(
                f"rows of {len(head)} cells like the header",
                f"a row of {len(row)} cells: {list(row)}",
                "give every row one value per column",
            )
    return Table(head, tuple(tuple(str(c) for c in row) for row in rows))
