"""What the stored notebooks show must be the same on every machine.

nbval compares a fresh run with the stored outputs, so anything tied to the machine that ran
`make notebooks` (its folders, its virtualenv) would either fail on another machine or teach a
student someone else's paths. A failed exercise check shows its verdict, not labkit's stack.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.nboutputs import stored_outputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks" / "solutions").glob("*.ipynb")
)
MACHINE = re.compile(r"(/work/|/tmp/|/root/|/home/|site-packages|\.venv/)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_paths_in_outputs(path: Path) -> None:
    found = [
        (i, MACHINE.search(text).group(0))
        for i, out in stored_outputs(path)
        for text in [str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))]
        + list(out.get("traceback", []))
        if MACHINE.search(text)
    ]
    assert found == [], f"cells showing paths of the machine that ran them: {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_failed_checks_show_the_verdict_only(path: Path) -> None:
    for i, out in stored_outputs(path):
        if out.get("output_type") == "error" and out.get("ename") == "CheckFailed":
            first = out["traceback"][0]
            assert first.startswith("CheckFailed: Expected "), (i, first)
            assert any(line.startswith("What to do: ") for line in out["traceback"]), i


def test_the_path_check_sees_a_path() -> None:
    assert MACHINE.search('File "/home/ana/.venv/lib/python3.11/site-packages/boto3/x.py"')
    assert not MACHINE.search("Expected a queue named 'payments-dlq', found only orders.")
