"""Render every executed lesson to static HTML, readable in any browser without Jupyter.

    python tests/tools/render_html.py [OUT_DIR]        (default: html/)

Uses the outputs stored in the notebooks (nothing is re-run): lessons go to OUT_DIR/NN-name.html,
worked solutions to OUT_DIR/solutions/NN-name.html, and OUT_DIR/index.html links them all.
Plots are embedded in the pages as data URIs, so the folder can be copied or zipped as it is.
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
_IMAGE_REF = re.compile(r"!\[[^\]]*\]\(|<img\b", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    source: Path
    target: Path  # relative to the output directory
    title: str
    images: int


def lessons() -> list[Path]:
    """The lessons, then their solutions, in course order."""
    found = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def _title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _check_executed(nb: nbformat.NotebookNode, path: Path) -> int:
    """Count stored images; refuse a notebook that was never run or stores an unexpected error."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if code and all(c.get("execution_count") is None for c in code):
        raise SystemExit(f"{path.name}: not executed (run `make notebooks NB={path}` first)")
    images = 0
    for cell in code:
        for out in cell.get("outputs", []):
            if out.output_type == "error" and "raises-exception" not in cell.metadata.get(
                "tags", []
            ):
                raise SystemExit(f"{path.name}: a cell stores an error: {out.ename}")
            images += sum(1 for k in out.get("data", {}) if k.startswith("image/"))
    return images


def _links_images(nb: nbformat.NotebookNode) -> bool:
    """Whether a markdown cell shows an image by reference (outputs carry theirs inline)."""
    return any(cell.cell_type == "markdown" and _IMAGE_REF.search(cell.source) for cell in nb.cells)


def render(out_dir: Path) -> list[Page]:
    # embedding parses each page again to inline referenced images: only where there are some
    exporters = {
        embed: HTMLExporter(template_name="lab", embed_images=embed) for embed in (False, True)
    }
    pages: list[Page] = []
    for path in lessons():
        nb = nbformat.read(path, as_version=4)
        images = _check_executed(nb, path)
        exporter = exporters[_links_images(nb)]
        rel = path.relative_to(NOTEBOOKS).with_suffix(".html")
        title = _title(nb, path.stem)
        if rel.parent.name == "solutions":
            title = f"{title} (worked solutions)"
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        pages.append(Page(path, rel, title, images))
    (out_dir / "index.html").write_text(_index(pages), encoding="utf-8")
    return pages


def _index(pages: list[Page]) -> str:
    def items(solutions: bool) -> str:
        return "\n".join(
            f'  <li><a href="{p.target.as_posix()}">{html.escape(p.title)}</a></li>'
            for p in pages
            if (p.target.parent.name == "solutions") == solutions
        )

    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Messaging &amp; Events workbook</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto }}</style>
</head>
<body>
<h1>Messaging &amp; Events workbook</h1>
<p>The lessons as they ran, outputs and plots included.
To run them yourself: <code>make lab</code>.</p>
<h2>Lessons</h2>
<ul>
{items(False)}
</ul>
<h2>Worked solutions</h2>
<ul>
{items(True)}
</ul>
</body>
</html>
"""


def main(args: list[str]) -> int:
    out_dir = Path(args[0]) if args else ROOT / "html"
    pages = render(out_dir)
    for page in pages:
        print(f"{page.target.as_posix():40s} {page.images:3d} images")
    print(f"{len(pages)} pages and index.html in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
