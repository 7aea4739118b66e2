"""labkit.matcher as a package of its own: standard library only, its own errors, moto's events."""

from __future__ import annotations

import ast
import datetime as dt
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import labkit
from labkit import matcher as matching
from labkit.errors import LabError
from labkit.lessons import allow_delivery
from labkit.trace.routing import matched as route_matches

PACKAGE = Path(matching.__file__).parent


# -- its own errors ------------------------------------------------------------------------------
def test_a_bad_policy_raises_the_matchers_own_error_in_snss_words() -> None:
    with pytest.raises(matching.InvalidFilterPolicy) as raised:
        matching.validate_filter_policy({"store": "fans"})
    error = raised.value
    assert isinstance(error, matching.MatcherError) and isinstance(error, ValueError)
    assert not isinstance(error, LabError)
    assert error.aws_message == '"store" must be an object or an array'
    assert str(error).splitlines() == [
        'Expected a filter policy SNS accepts, found one it rejects ("store" must be an object '
        "or an array).",
        'What to do: put the value in a list: "store": ["fans"]',
    ]


def test_a_bad_pattern_raises_the_matchers_own_error_in_eventbridges_words() -> None:
    with pytest.raises(matching.InvalidEventPattern) as raised:
        matching.validate_pattern({"detail": {"ip": [{"cidr": 10}]}})
    error = raised.value
    assert isinstance(error, matching.MatcherError) and isinstance(error, ValueError)
    # event-ruler's JsonRuleCompiler words a cidr that is not a string this way
    assert error.aws_message == "prefix match pattern must be a string"
    assert str(error).startswith("Expected an event pattern EventBridge accepts, found one it")
    assert error.hint in str(error)


def test_the_errors_survive_pickling() -> None:
    error = matching.InvalidFilterPolicy("Empty arrays are not allowed", "give it a value")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is matching.InvalidFilterPolicy
    assert (copy.aws_message, copy.hint, str(copy)) == (error.aws_message, error.hint, str(error))


def test_a_learner_reads_the_error_through_the_tracer() -> None:
    matched, reason = route_matches({"store": "fans"}, attributes={})
    assert not matched
    assert reason.startswith("Expected a filter policy SNS accepts, found one it rejects")
    assert "What to do: put the value in a list" in reason


# -- standard library only -----------------------------------------------------------------------
def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) for every import in a file: level 0 is absolute, 1+ relative."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_the_matcher_imports_only_the_standard_library_and_itself() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "compile.py", "explain.py", "validate.py"}
    outside = [
        f"{path.name}: {'.' * level}{module}"
        for path in files
        for level, module in _imports(path)
        if (level == 0 and module.split(".")[0] not in sys.stdlib_module_names) or level > 1
    ]
    assert outside == []


def test_the_matcher_runs_when_copied_out_of_labkit(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "eventmatch", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import eventmatch\n"
        "print(eventmatch.pattern_matches({'source': ['shop']}, {'source': 'shop'}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('labkit')))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["True", "[]"]


# -- moto's own event dicts ------------------------------------------------------------------------
WHEN = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)


@pytest.mark.parametrize("time", [WHEN.timestamp(), int(WHEN.timestamp()), WHEN])
def test_an_event_is_read_as_moto_holds_it_and_left_unchanged(time: object) -> None:
    event = {"source": "shop", "time": time, "detail": {"n": 1}}
    before = repr(event)
    assert matching.pattern_matches({"time": [{"prefix": "2023-11-14T22:13"}]}, event)
    assert not matching.pattern_matches({"time": [{"prefix": "2024-"}]}, event)
    assert repr(event) == before


def test_a_rule_on_time_matches_the_events_moto_builds(embedded_lab: labkit.Lab) -> None:
    events, sqs = embedded_lab.client("events"), embedded_lab.client("sqs")
    url = sqs.create_queue(QueueName="at-that-minute")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    pattern = {"source": ["shop"], "time": [{"prefix": "2023-11-14T22:13"}]}
    rule = events.put_rule(Name="minute", EventPattern=json.dumps(pattern))["RuleArn"]
    allow_delivery(embedded_lab, rule, arn["QueueArn"])
    events.put_targets(Rule="minute", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    for when in (WHEN, WHEN + dt.timedelta(days=1)):
        entry = {"Source": "shop", "DetailType": "Tick", "Detail": "{}", "Time": when}
        events.put_events(Entries=[entry])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["time"] for m in got] == ["2023-11-14T22:13:20Z"]


def test_a_value_json_has_no_type_for_reads_as_its_text() -> None:
    event = {"detail": {"day": dt.date(2024, 1, 2), "tags": ("a", "b")}}
    assert matching.pattern_matches({"detail": {"day": ["2024-01-02"], "tags": ["b"]}}, event)
    verdict = matching.explain_pattern({"detail": {"day": ["2024-01-03"]}}, event)
    assert '"detail.day" is "2024-01-02"' in verdict.reasons[0]
