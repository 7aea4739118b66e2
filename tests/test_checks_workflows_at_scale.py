"""labkit.checks.workflows_at_scale: each check fails, naming the cause, on a missing or plausible
wrong answer, and passes on a right answer written otherwise than the lesson's solution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit
from labkit.checks import CheckFailed, Passed
from labkit.checks import workflows_at_scale as checks
from labkit.lessons.workflows import charge_with_retry, pack_parcels

PACK = {"Type": "Wait", "SecondsPath": "$.seconds", "End": True}


def packing(**limit: int) -> dict:
    return {
        "Type": "Map",
        "ItemsPath": "$.parcels",
        "ItemProcessor": {"StartAt": "Pack", "States": {"Pack": PACK}},
        **limit,
    }


@pytest.fixture(scope="module")
def lab() -> Iterator[labkit.Lab]:
    with labkit.start_lab(seed=10) as lab:
        yield lab


def test_retry_schedule(lab: labkit.Lab) -> None:
    lab.reset()
    with pytest.raises(CheckFailed, match="a state machine named 'charge'"):
        checks.retry_schedule(lab)
    # four retries instead of three: MaxAttempts counted with the first try
    charge_with_retry(lab, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 4})
    with pytest.raises(CheckFailed, match=r"attempts at \[0.0, 3.0, 9.0, 21.0, 45.0\]"):
        checks.retry_schedule(lab)
    lab.reset()
    right = {"ErrorEquals": ["DynamoDB.ResourceNotFoundException"], "IntervalSeconds": 3,
             "BackoffRate": 2.0, "MaxDelaySeconds": 12, "MaxAttempts": 3}  # fmt: skip
    charge_with_retry(lab, right)
    assert isinstance(checks.retry_schedule(lab), Passed)


def test_packing_limit(lab: labkit.Lab) -> None:
    lab.reset()
    pack_parcels(lab, packing())  # no limit: all six at once
    with pytest.raises(CheckFailed, match="6 at once"):
        checks.packing_limit(lab)
    lab.reset()
    pack_parcels(lab, packing(MaxConcurrency=1))
    with pytest.raises(CheckFailed, match="1 at once"):
        checks.packing_limit(lab)
    lab.reset()
    # the older field names of a Map (Iterator instead of ItemProcessor) are as good
    older = {"Type": "Map", "ItemsPath": "$.parcels", "MaxConcurrency": 2,
             "Iterator": {"StartAt": "Pack", "States": {"Pack": PACK}}}  # fmt: skip
    pack_parcels(lab, older)
    assert isinstance(checks.packing_limit(lab), Passed)
