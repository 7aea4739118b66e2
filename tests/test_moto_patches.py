"""labkit's one registry of changes to moto: applied while a lab runs, stock moto after.

The identity test runs in a fresh process: it snapshots every function, method and property of
moto's modules and classes for the services labkit touches before ``import labkit``, runs
start_lab / the setup cell again / stop three times, and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

import labkit
from labkit.moto_patches import CHANGES, REGISTRY
from labkit.moto_patches.registry import Change, Registry, Replace, Wrap

ROOT = Path(__file__).resolve().parents[1]

#: moto's modules labkit changes (their classes are snapshotted too).
TOUCHED = (
    "moto",
    "moto.backends",
    "moto.core.utils",
    "moto.core.base_backend",
    "moto.sqs.models",
    "moto.sqs.responses",
    "moto.sns.models",
    "moto.sns.responses",
    "moto.sns.utils",
    "moto.events.models",
    "moto.events.utils",
    "moto.stepfunctions.models",
    "moto.stepfunctions.responses",
    "moto.stepfunctions.parser.api",
    "moto.stepfunctions.parser.models",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
    "moto.dynamodb.models",
    "moto.awslambda.models",
    "moto.moto_server.werkzeug_app",
)

IDENTITY_SCRIPT = textwrap.dedent(
    """
    import importlib, json, socket, sys, time
    TOUCHED = {touched!r}
    for name in TOUCHED:
        importlib.import_module(name)

    def layers(value, depth=0):
        # the code objects under a value: a wrapper adds one, so re-wrapping shows
        found, todo, seen = [], [value], set()
        while todo:
            item = todo.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, property):
                todo += [item.fget, item.fset, item.fdel]
                continue
            code = getattr(item, "__code__", None)
            if code is not None:
                found.append(f"{{code.co_filename}}:{{code.co_firstlineno}}")
                cells = [c.cell_contents for c in (item.__closure__ or ())]
                todo += [c for c in cells if callable(c)]
        return sorted(found)

    def code(value):  # a function, method or property (not moto's bookkeeping data)
        return callable(value) or isinstance(value, (property, staticmethod, classmethod))

    def snapshot():
        seen = {{}}
        for name in TOUCHED:
            module = sys.modules[name]
            for key, value in list(vars(module).items()):
                if code(value):
                    seen[f"{{name}}.{{key}}"] = value
                if isinstance(value, type) and value.__module__ == name:
                    for attr, member in list(vars(value).items()):
                        if code(member):
                            seen[f"{{name}}.{{key}}.{{attr}}"] = member
        return seen

    def summary():
        from moto.core.config import default_user_config
        from moto.core.models import MockAWS
        return {{
            "mocks": MockAWS._nested_count,
            "config": json.dumps(default_user_config, sort_keys=True, default=str),
            "getaddrinfo": socket.getaddrinfo.__module__,
            "meta_path": len(sys.meta_path),
            "clock_real": abs(time.time() - {now}) < 3600,
            "batch_module": "moto.batch" in sys.modules,
        }}

    stock = snapshot()
    stock_summary = summary()
    import labkit
    from labkit.moto_patches import REGISTRY

    def use(lab):
        sqs = lab.client("sqs")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="one")
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        lab.client("sns").create_topic(Name="news")
        lab.client("events").list_event_buses()

    report = {{"rounds": []}}
    for round in range(3):
        first = labkit.start_lab()
        use(first)
        applied_once = {{k: layers(v) for k, v in snapshot().items() if v is not stock.get(k)}}
        again = labkit.start_lab()  # the setup cell run again
        use(again)
        applied_twice = {{k: layers(v) for k, v in snapshot().items() if v is not stock.get(k)}}
        again.stop()
        after = snapshot()
        report["rounds"].append({{
            "changed_while_running": sorted(applied_once),
            "same_layers_when_run_again": applied_once == applied_twice,
            "layer_differences": sorted(k for k in set(applied_once) | set(applied_twice)
                                        if applied_once.get(k) != applied_twice.get(k)),
            "changed_after_stop": sorted(k for k in set(stock) | set(after)
                                         if stock.get(k, None) is not after.get(k, None)),
            "summary_after_stop": summary() == stock_summary,
            "applied_after_stop": list(REGISTRY.applied),
        }})
    print(json.dumps(report))
    """
)


def test_after_the_last_lab_stops_moto_is_stock_and_a_rerun_adds_nothing() -> None:
    import time

    script = IDENTITY_SCRIPT.format(touched=TOUCHED, now=time.time())
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for number, round_ in enumerate(report["rounds"], 1):
        # the lab really changed moto while it ran (each change shows in some attribute)
        assert len(round_["changed_while_running"]) >= 20, (number, round_)
        assert round_["same_layers_when_run_again"], (number, round_["layer_differences"])
        assert round_["changed_after_stop"] == [], (number, round_["changed_after_stop"])
        assert round_["summary_after_stop"], f"round {number}: mock, config, guard or clock left"
        assert round_["applied_after_stop"] == []


def test_every_change_names_the_aws_behaviour_its_page_and_the_moto_version() -> None:
    for change in CHANGES:
        assert change.follows, change.name
        assert change.moto == "5.2.5", change.name
        if change.doc:
            assert change.doc.startswith("https://docs.aws.amazon.com/"), change.name
    # a change without a page only makes moto faster or quieter: it says so
    speed_only = {c.name for c in CHANGES if not c.doc}
    assert speed_only == {
        "lazy_batch",
        "moto_botocore_data",
        "server_module_list",
        "sfn_quiet_lexer",
        "sqs_fastpath",
        "sqs_receipt_handles",
        "sns_envelope",
    }


def test_the_error_codes_given_while_a_lab_runs_are_taken_back() -> None:
    from moto.stepfunctions.parser import api, models  # noqa: F401  (the change's module)

    with REGISTRY.active():
        assert api.InvalidDefinition.TYPE == "InvalidDefinition"
    assert api.InvalidDefinition.TYPE is None


def test_a_lab_holds_the_registry_and_the_last_to_stop_reverts_it() -> None:
    assert REGISTRY.holders == 0
    REGISTRY.acquire()  # another holder, as a labkit server in this process would be
    lab = labkit.Lab().start()
    lab.client("sqs").list_queues()
    try:
        assert REGISTRY.holders == 2
        assert "sqs_fastpath" in REGISTRY.applied
        lab.stop()
        assert "sqs_fastpath" in REGISTRY.applied  # the other holder still holds
    finally:
        lab.stop()
        REGISTRY.release()
    assert REGISTRY.holders == 0 and REGISTRY.applied == ()


def test_a_change_applies_when_its_module_is_imported() -> None:
    module = types.ModuleType("labkit_test_late_module")
    module.greet = lambda: "hello"  # type: ignore[attr-defined]
    change = Change(
        "late", "labkit_test_late_module", "test", "",
        lambda: [Wrap(sys.modules["labkit_test_late_module"], "greet", lambda f: lambda: "hi")],
        moto="",
    )  # fmt: skip
    registry = Registry([change])
    with registry.active():
        assert registry.pending() == ("late",)
        sys.modules["labkit_test_late_module"] = module
        registry._imported("labkit_test_late_module")  # what the import hook calls
        assert module.greet() == "hi" and registry.applied == ("late",)
    assert module.greet() == "hello"
    del sys.modules["labkit_test_late_module"]


def test_changes_on_one_attribute_wrap_in_registry_order_and_unwrap_in_reverse() -> None:
    owner = types.SimpleNamespace(say=lambda: "moto")
    first = Change(
        "first", "sys", "t", "", lambda: [Wrap(owner, "say", lambda f: lambda: f() + "+1")], moto=""
    )
    second = Change(
        "second",
        "sys",
        "t",
        "",
        lambda: [Wrap(owner, "say", lambda f: lambda: f() + "+2")],
        moto="",
    )
    registry = Registry([first, second])
    with registry.active():
        assert owner.say() == "moto+1+2"
        with registry.only("second"):
            assert owner.say() == "moto+2"
        with registry.stock():
            assert owner.say() == "moto"
        assert owner.say() == "moto+1+2"
    assert owner.say() == "moto"


def test_a_change_for_another_moto_version_warns_and_stays_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import moto

    owner = types.SimpleNamespace(value=1)
    change = Change("old", "sys", "an old fix", "", lambda: [Replace(owner, "value", 2)])
    registry = Registry([change])
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with registry.active():
            assert owner.value == 1 and registry.applied == ()
    assert any("written for moto 5.2.5, found moto 9.9.9" in str(w.message) for w in caught)


def test_the_labkit_server_holds_the_registry_for_its_lifetime() -> None:
    from labkit.tools.server import LabServer

    server = LabServer()
    server.start()
    try:
        assert REGISTRY.holders == 1
    finally:
        server.stop()
    assert REGISTRY.holders == 0 and REGISTRY.applied == ()
