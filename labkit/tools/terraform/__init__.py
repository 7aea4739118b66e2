"""Write the topology a lab built as Terraform for the AWS provider (``labkit.to_terraform``).

``export(lab)`` is the ``main.tf`` text; ``write(lab, folder)`` writes the whole folder a learner
applies: ``main.tf`` and each function's handler module under ``handlers/``.

>>> from labkit import Lab
>>> with Lab() as lab:
...     _ = lab.client("sqs").create_queue(QueueName="orders")
...     print(resources(export(lab))["aws_sqs_queue.orders"])
resource "aws_sqs_queue" "orders" {
  name                    = "${var.prefix}orders"
  sqs_managed_sse_enabled = true
}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.tools.terraform.export import Export, build
from labkit.tools.terraform.hcl import fmt

if TYPE_CHECKING:
    from labkit.lab.session import Lab

__all__ = ["Export", "build", "export", "fmt", "resources", "write"]


def export(lab: Lab) -> str:
    """The lab's topology as the text of a Terraform file (``main.tf``)."""
    return build(lab).main_tf


def write(lab: Lab, folder: str | Path) -> list[Path]:
    """Write the lab's Terraform folder: ``main.tf`` and ``handlers/*.py``; the files written.

    Files of an earlier export that this one no longer has (a handler since removed) are
    deleted, so the folder is exactly what the lab holds.
    """
    root = Path(folder)
    files = build(lab).files()
    old = root / "handlers"
    if old.is_dir():
        for stale in old.glob("*.py"):
            if f"handlers/{stale.name}" not in files:
                stale.unlink()
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(text)
            partial.replace(path)  # a reader never sees half a file
        written.append(path)
    return written


def resources(hcl: str) -> dict[str, str]:
    """The resource blocks of an export by Terraform address, in the order they were written.

    A lesson shows a few blocks of a long export with it: ``resources(export(lab))`` lists the
    addresses, and ``resources(export(lab))["aws_sqs_queue.orders"]`` is one block as text.

    >>> text = 'resource "aws_sqs_queue" "orders" {\\n  name = "orders"\\n}\\n'
    >>> found = resources(text)
    >>> list(found)
    ['aws_sqs_queue.orders']
    >>> print(found["aws_sqs_queue.orders"])
    resource "aws_sqs_queue" "orders" {
      name = "orders"
    }
    """
    found: dict[str, str] = {}
    for block in re.split(r"\n\n(?=\S)", hcl):
        match = re.match(r'(resource|data) "([^"]+)" "([^"]+)" \{', block)
        if match:
            prefix = "data." if match[1] == "data" else ""
            found[f"{prefix}{match[2]}.{match[3]}"] = block.strip("\n")
    return found
