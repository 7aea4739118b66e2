"""Re-execute notebooks and store their outputs: the only way outputs change.

python tests/tools/execute_notebooks.py                 # every notebook
python tests/tools/execute_notebooks.py notebooks/01-sqs-queues.ipynb

`make notebooks` first writes the solutions notebooks from the lessons (tests/tools/solutions.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
KERNELSPEC = {
    "name": "messaging-workbook",
    "display_name": "Messaging & Events (labkit)",
    "language": "python",
}


def unreadable_figures(nb: nbformat.NotebookNode) -> list[str]:
    """The figures a run refused to draw (labkit.plots.legibility), by cell: IPython's display
    formatter catches the error and shows it as an output, so the run itself goes on."""
    return [
        f"cell {i}: {out.evalue}"
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.get("ename") == "PlotLayoutError"
    ]


def joined_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Outputs with each run of one stream's consecutive pieces joined into one.

    >>> out = nbformat.v4.new_output
    >>> joined = joined_streams([out("stream", name="stdout", text="a"),
    ...                          out("stream", name="stdout", text="\\n")])
    >>> [o.text for o in joined]
    ['a\\n']
    """
    joined: list[nbformat.NotebookNode] = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (
            last is not None
            and output.output_type == last.output_type == "stream"
            and output.name == last.name
        ):
            last.text += output.text
        else:
            joined.append(output)
    return joined


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    client.execute()
    if unreadable := unreadable_figures(nb):
        raise SystemExit(f"{path}: a figure does not read cleanly\n" + "\n".join(unreadable))
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            # one output per stream, however the kernel's flushes cut it: a run stores the same
            # outputs as the one before it (nbval compares streams joined the same way)
            cell.outputs = joined_streams(cell.outputs)
    nbformat.write(nb, path)
    return time.perf_counter() - started


def main(args: list[str]) -> int:
    # figures with labels on labels or off their axes fail the run (labkit.plots.legibility)
    os.environ["LABKIT_STRICT_PLOTS"] = "1"
    # a solutions notebook named on its own and built from its lesson runs once
    paths = list({Path(a).resolve(): Path(a) for a in args}.values()) or sorted(
        p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    for path in paths:
        seconds = execute(path)
        print(f"{path.relative_to(ROOT) if path.is_absolute() else path}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
