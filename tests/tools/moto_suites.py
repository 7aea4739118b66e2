"""moto's own test suites as a harness for labkit's changes to moto (`make moto-suites`).

Fetches the source distribution of the moto version pyproject.toml pins (``pip download
--no-binary :all:``) into .cache/moto-suites/, unpacks its tests (not its ``moto`` package: the
suites import the moto installed in .venv, the one labkit patches) and runs moto's suites for
every service labkit changes twice with this Python: once on stock moto, once with labkit's
registry held for the whole session (tests/tools/moto_suites_registry.py). It prints every test
whose outcome differs, and exits non-zero when a difference is not listed in
tests/tools/moto_suite_differences.toml or a listed one no longer happens.

Each suite runs whole: on a shared 2-core machine the seven take two to three minutes per run
(DynamoDB's, the largest, under two minutes on its own), far below the ten minutes past which
only the files touching labkit's changes would be worth picking. Tests marked
``requires_docker`` (Lambda code run in a container) are skipped in both runs, there being no
Docker daemon to compare against: 7 of the 13 event source mapping tests, 24 Lambda tests in all.

python tests/tools/moto_suites.py             # every suite
python tests/tools/moto_suites.py test_sqs    # some (listed differences elsewhere go unchecked)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).resolve().parent
CACHE = ROOT / ".cache" / "moto-suites"
EXPECTED = TOOLS / "moto_suite_differences.toml"
PLUGIN = "moto_suites_registry"

#: moto's suites for the services labkit changes, run whole.
SUITES: tuple[str, ...] = (
    "test_sqs",
    "test_sns",
    "test_events",
    "test_stepfunctions",
    "test_scheduler",
    "test_dynamodb",
    "test_awslambda",
)
MODES = ("stock", "labkit")
# worst first: a test that passed its call but errored in teardown counts as an error
_SEVERITY = {"error": 3, "failed": 2, "skipped": 1, "passed": 0}


@dataclass(frozen=True)
class Run:
    """One pytest session over the suites."""

    mode: str
    outcomes: dict[str, str]
    seconds: float
    summary: str
    applied: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Difference:
    """A test whose outcome on stock moto is not its outcome with labkit's changes."""

    test: str
    stock: str
    labkit: str


@dataclass(frozen=True)
class Expected(Difference):
    """A listed difference: the change that causes it and the AWS page labkit follows."""

    change: str
    doc: str
    why: str


# -- the moto source distribution ---------------------------------------------------------------
def pinned_moto(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The moto version pyproject.toml pins.

    >>> import re
    >>> bool(re.fullmatch(r"\\d+\\.\\d+\\.\\d+", pinned_moto()))
    True
    """
    for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        found = re.fullmatch(r"moto(\[[^\]]*\])?==([\w.]+)", requirement.replace(" ", ""))
        if found:
            return found.group(2)
    raise SystemExit(f"{pyproject}: no pinned moto (moto==X.Y.Z) among the dependencies")


def fetch(version: str, cache: Path = CACHE) -> Path:
    """moto's sdist for `version`, downloaded from PyPI the first time."""
    tarball = cache / f"moto-{version}.tar.gz"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"downloading moto {version}'s source distribution into {_rel(cache)}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"moto=={version}"]
            + ["--no-binary", ":all:", "--no-deps", "--quiet", "--dest", str(cache)],
            check=True,
        )
    return tarball


def unpack(tarball: Path, version: str, cache: Path = CACHE) -> Path:
    """The sdist's tests and pytest settings, unpacked once; its ``moto`` package is left out
    so the suites import the installed one."""
    top = f"moto-{version}"
    root = cache / top
    if not (root / "tests").is_dir():
        with tarfile.open(tarball) as archive:
            wanted = [
                m
                for m in archive.getmembers()
                if m.name.startswith(f"{top}/tests/") or m.name == f"{top}/pyproject.toml"
            ]
            archive.extractall(cache, members=wanted, filter="data")
    return root


# -- running and reading ------------------------------------------------------------------------
def run_suites(root: Path, mode: str, suites: Sequence[str], out: Path) -> Run:
    """Run `suites` of the unpacked sdist at `root` on stock moto or with the registry held."""
    out.mkdir(parents=True, exist_ok=True)
    junit, log, applied_dir = out / f"{mode}.xml", out / f"{mode}.log", out / f"{mode}-applied"
    junit.unlink(missing_ok=True)
    env = {
        **os.environ,
        # no Docker daemon is assumed; Lambda tests that run code in containers skip, both runs
        "TESTS_SKIP_REQUIRES_DOCKER": "true",
        # moto's aws_verified tests would otherwise go to a real account when asked to
        "MOTO_TEST_ALLOW_AWS_REQUEST": "false",
        "TEST_SERVER_MODE": "false",
    }
    command = ["nice", "-n", "10", sys.executable, "-m", "pytest", "-c", "pyproject.toml"]
    command += ["--rootdir", ".", "-p", "no:cacheprovider", "-n", "2", "-q", "--color=no"]
    command += ["-o", "junit_family=xunit1", f"--junitxml={junit}"]
    if mode == "labkit":
        applied_dir.mkdir(exist_ok=True)
        for stale in applied_dir.glob("*.json"):
            stale.unlink()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS), env.get("PYTHONPATH")]))
        env["MOTO_SUITES_APPLIED"] = str(applied_dir)
        command += ["-p", PLUGIN]
    command += [f"tests/{suite}" for suite in suites]
    print(f"{mode}: running moto's {', '.join(suites)} (log: {_rel(log)})", flush=True)
    started = time.perf_counter()
    with log.open("w") as sink:
        code = subprocess.run(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    lines = log.read_text().strip().splitlines()
    summary = lines[-1].strip("= ") if lines else "(no output)"
    # 0: all passed, 1: some failed; anything else means the session itself broke
    if code.returncode not in (0, 1) or not junit.exists():
        raise SystemExit(f"{mode}: pytest exited with {code.returncode}: {summary}")
    applied: set[str] = set()
    pending: set[str] = set()
    for record in applied_dir.glob("*.json") if mode == "labkit" else ():
        data = json.loads(record.read_text())
        applied.update(data["applied"])
        pending.update(data["pending"])
    return Run(
        mode, outcomes_from_junit(junit), seconds, summary, frozenset(applied), frozenset(pending)
    )


def outcomes_from_junit(path: Path) -> dict[str, str]:
    """Outcome per pytest node id, from a junit XML report written with junit_family=xunit1.

    >>> import tempfile
    >>> xml = '''<testsuites><testsuite>
    ...   <testcase classname="tests.test_a.test_b" file="tests/test_a/test_b.py" name="test_x"/>
    ...   <testcase classname="tests.test_a.test_b.TestC" file="tests/test_a/test_b.py"
    ...             name="test_y[1]"><failure message="no"/></testcase>
    ...   <testcase classname="tests.test_a.test_b" file="tests/test_a/test_b.py" name="test_z">
    ...     <skipped/></testcase>
    ... </testsuite></testsuites>'''
    >>> with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
    ...     _ = f.write(xml)
    >>> for test, outcome in outcomes_from_junit(Path(f.name)).items():
    ...     print(test, outcome)
    tests/test_a/test_b.py::test_x passed
    tests/test_a/test_b.py::TestC::test_y[1] failed
    tests/test_a/test_b.py::test_z skipped
    """
    outcomes: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test = _node_id(case.get("classname", ""), case.get("name", ""), case.get("file"))
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                found = {"failure": "failed"}.get(child.tag, child.tag)
                outcome = max(outcome, found, key=_SEVERITY.__getitem__)
        previous = outcomes.get(test, "passed")
        outcomes[test] = max(previous, outcome, key=_SEVERITY.__getitem__)
    return outcomes


def _node_id(classname: str, name: str, file: str | None) -> str:
    if not file:  # a collection error: pytest names the module only
        return ".".join(filter(None, [classname, name]))
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname.removeprefix(module).strip(".")
    return "::".join([file, *filter(None, classes.split(".")), name])


# -- comparing ----------------------------------------------------------------------------------
def compare(stock: Mapping[str, str], labkit: Mapping[str, str]) -> list[Difference]:
    """Every test whose outcome differs between the two runs ("absent" where one lacks it).

    >>> for d in compare({"a": "passed", "b": "passed"}, {"a": "passed", "b": "failed", "c": "ok"}):
    ...     print(d.test, d.stock, d.labkit)
    b passed failed
    c absent ok
    """
    return [
        Difference(test, stock.get(test, "absent"), labkit.get(test, "absent"))
        for test in sorted(stock.keys() | labkit.keys())
        if stock.get(test, "absent") != labkit.get(test, "absent")
    ]


def load_expected(path: Path = EXPECTED, moto: str | None = None) -> list[Expected]:
    """The listed differences, checked against labkit's registry: each names a change that
    follows an AWS page (a speed-only change, whose doc is empty, must change no outcome).

    >>> all(e.doc and e.why for e in load_expected(moto=pinned_moto()))
    True
    """
    from labkit.moto_patches import CHANGES

    data = tomllib.loads(path.read_text())
    if moto is not None and data.get("moto") != moto:
        raise SystemExit(
            f"{_rel(path)} lists differences for moto {data.get('moto')}, the pin is {moto}: "
            "run the suites and list them again"
        )
    changes = {change.name: change for change in CHANGES}
    listed = [Expected(**entry) for entry in data.get("difference", [])]
    for entry in listed:
        change = changes.get(entry.change)
        if change is None:
            raise SystemExit(f"{entry.test}: no change named {entry.change!r} in the registry")
        if not change.doc:
            raise SystemExit(
                f"{entry.test}: {entry.change} only makes moto faster and must change no outcome"
            )
        if not entry.doc.startswith("https://docs.aws.amazon.com/"):
            raise SystemExit(f"{entry.test}: doc must be an AWS documentation page: {entry.doc}")
    return listed


def problems(
    differences: Iterable[Difference], expected: Iterable[Expected], suites: Sequence[str]
) -> list[str]:
    """What makes the target fail: unlisted differences, and listed ones that did not happen.

    >>> listed = [Expected("tests/test_sqs/a.py::t", "passed", "failed", "c", "https://d", "")]
    >>> problems([Difference("tests/test_sqs/a.py::t", "passed", "failed")], listed, ["test_sqs"])
    []
    >>> problems([], listed, ["test_sqs"])
    ['listed but did not happen: tests/test_sqs/a.py::t (passed -> failed, c)']
    >>> problems([], listed, ["test_sns"])
    []
    >>> problems([Difference("tests/test_sns/b.py::u", "passed", "failed")], [], ["test_sns"])
    ['not listed: tests/test_sns/b.py::u (passed -> failed)']
    """
    found = {(d.test, d.stock, d.labkit) for d in differences}
    wanted = {(e.test, e.stock, e.labkit): e for e in expected if _suite_of(e.test) in suites}
    return [
        f"not listed: {test} ({stock} -> {labkit})"
        for test, stock, labkit in sorted(found - wanted.keys())
    ] + [
        f"listed but did not happen: {key[0]} ({key[1]} -> {key[2]}, {wanted[key].change})"
        for key in sorted(wanted.keys() - found)
    ]


def _suite_of(test: str) -> str:
    parts = test.split("/")
    return parts[1] if len(parts) > 2 else ""


def table(differences: Sequence[Difference], expected: Iterable[Expected]) -> str:
    """The differences in three groups, each test with the change it is listed under.

    >>> listed = [Expected("t1", "passed", "failed", "events_patterns", "https://d", "")]
    >>> print(table([Difference("t1", "passed", "failed")], listed))
    passes on stock moto, fails with labkit's changes:
      test  stock   labkit  listed under
      t1    passed  failed  events_patterns
    fails on stock moto, passes with labkit's changes:
      (none)
    """
    listed = {(e.test, e.stock, e.labkit): e.change for e in expected}
    good = {"passed"}
    groups = {
        "passes on stock moto, fails with labkit's changes": [
            d for d in differences if d.stock in good and d.labkit not in good
        ],
        "fails on stock moto, passes with labkit's changes": [
            d for d in differences if d.stock not in good and d.labkit in good
        ],
        "other outcome changes (skips, tests found in one run only)": [
            d for d in differences if (d.stock in good) == (d.labkit in good)
        ],
    }
    lines: list[str] = []
    for title, rows in groups.items():
        if not rows and title.startswith("other"):
            continue
        lines.append(f"{title}:")
        if not rows:
            lines.append("  (none)")
            continue
        cells = [("test", "stock", "labkit", "listed under")] + [
            (d.test, d.stock, d.labkit, listed.get((d.test, d.stock, d.labkit), "NOT LISTED"))
            for d in rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(3)]
        for *padded, last in cells:
            lines.append(
                "  " + "".join(c.ljust(w + 2) for c, w in zip(padded, widths, strict=True)) + last
            )
    return "\n".join(line.rstrip() for line in lines)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# -- the command --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Fetch, run both ways, compare, and say whether the differences are the listed ones."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", help=f"some of {', '.join(SUITES)} (default: all)")
    suites = tuple(parser.parse_args(argv).suites) or SUITES
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"not a suite labkit changes: {', '.join(unknown)}")

    version = pinned_moto()
    installed = metadata.version("moto")
    if installed != version:
        raise SystemExit(f"moto {installed} is installed, pyproject.toml pins {version}: make")
    expected = load_expected(moto=version)
    root = unpack(fetch(version), version)
    missing = [suite for suite in suites if not (root / "tests" / suite).is_dir()]
    if missing:
        raise SystemExit(f"moto {version}'s sdist has no {', '.join(missing)}")

    started = time.perf_counter()
    runs = {mode: run_suites(root, mode, suites, CACHE / "runs") for mode in MODES}
    from labkit.moto_patches import CHANGES

    labkit = runs["labkit"]
    never = [c.name for c in CHANGES if c.name not in labkit.applied]
    print()
    for run in runs.values():
        print(f"{run.mode:>6}: {run.summary} ({run.seconds:.0f} s wall)")
    print(
        f"labkit's changes in force: {len(labkit.applied)} of {len(CHANGES)}"
        + (
            f" (never applied, their moto module was not imported: {', '.join(never)})"
            * bool(never)
        )
    )
    differences = compare(runs["stock"].outcomes, labkit.outcomes)
    print()
    print(table(differences, expected))
    trouble = problems(differences, expected, suites)
    print()
    for line in trouble:
        print(line)
    total = time.perf_counter() - started
    verdict = "FAILED" if trouble else "ok"
    print(f"{verdict}: {len(differences)} differing, {len(trouble)} not as listed ({total:.0f} s)")
    return 1 if trouble else 0


if __name__ == "__main__":
    sys.exit(main())
