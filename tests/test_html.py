"""`make html`: every executed lesson as a static page, plots embedded, linked from an index."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from tests.nboutputs import stored_outputs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))

import render_html  # noqa: E402

pytestmark = pytest.mark.heavy  # seconds of work: the test pool starts it first


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[render_html.Page]]:
    out = tmp_path_factory.mktemp("html")
    return out, render_html.render(out)


def _expected_errors(path: Path) -> int:
    return sum(1 for _, out in stored_outputs(path) if out.output_type == "error")


def test_every_lesson_and_solution_has_a_page(rendered) -> None:
    out, pages = rendered
    wanted = {p.relative_to(ROOT / "notebooks").with_suffix(".html") for p in render_html.lessons()}
    assert {p.target for p in pages} == wanted
    assert any(t.parent.name == "solutions" for t in wanted)
    index = (out / "index.html").read_text()
    for target in wanted:
        assert (out / target).is_file()
        assert f'href="{target.as_posix()}"' in index


def test_plots_are_embedded_not_linked(rendered) -> None:
    out, pages = rendered
    assert sum(p.images for p in pages) > 0
    for page in pages:
        text = (out / page.target).read_text()
        assert len(re.findall(r'src="data:image/(?:png|svg\+xml);base64,', text)) == page.images
        assert not re.search(r'<img[^>]+src="(?!data:)', text), page.target


def test_no_error_outputs_except_the_taught_ones(rendered) -> None:
    out, pages = rendered
    for page in pages:
        nb = nbformat.read(page.source, as_version=4)
        for cell in nb.cells:
            if any(o.output_type == "error" for o in cell.get("outputs", [])):
                assert "raises-exception" in cell.metadata.get("tags", []), page.source.name
        text = (out / page.target).read_text()
        shown = text.count('jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr"')
        assert shown >= _expected_errors(page.source)


def test_the_renderer_refuses_an_untagged_error() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1/0", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])
    ]
    nb.cells = [cell]
    with pytest.raises(SystemExit, match="ZeroDivisionError"):
        render_html._check_executed(nb, Path("x.ipynb"))
    cell.metadata["tags"] = ["raises-exception"]
    assert render_html._check_executed(nb, Path("x.ipynb")) == 0


def test_the_renderer_refuses_a_notebook_never_run() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    with pytest.raises(SystemExit, match="not executed"):
        render_html._check_executed(nb, Path("x.ipynb"))


def test_only_a_page_that_links_an_image_is_parsed_again_to_embed_it() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("A queue holds messages. `![x](y)` in code")]
    assert render_html._links_images(nb)  # a reference anywhere in markdown counts: no misses
    nb.cells = [nbformat.v4.new_markdown_cell("# Queues\nA queue [holds](queues.md) messages.")]
    assert not render_html._links_images(nb)
    for source in ("![diagram](fanout.png)", '<img src="fanout.svg" alt="fan-out">'):
        nb.cells = [nbformat.v4.new_markdown_cell(source)]
        assert render_html._links_images(nb), source
