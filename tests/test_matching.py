"""labkit.matcher and its moto correction: one matcher for deliveries, explanations, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labkit
from labkit import matcher as matching
from labkit.moto_patches import REGISTRY

S = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731

# -- the sentences a learner reads -------------------------------------------------------------


def test_a_wrong_value_names_the_key_the_value_and_what_would_pass() -> None:
    verdict = matching.explain_filter(
        {"customer_interests": ["rugby", "tennis"]},
        body="x",
        attributes={"customer_interests": S("baseball")},
    )
    assert not verdict and verdict.matched is False
    (reason,) = verdict.reasons
    assert '"customer_interests" is "baseball"' in reason
    assert '"rugby" or "tennis"' in reason
    assert 'add "baseball" to the list' in reason
    assert str(verdict).startswith("not delivered: ")


def test_a_missing_attribute_says_to_publish_it_or_drop_it_from_the_policy() -> None:
    (reason,) = matching.explain_filter(
        {"store": [{"exists": True}], "x": ["1"]}, attributes={"x": S("1")}
    ).reasons
    assert 'publish with a "store" message attribute' in reason
    assert 'take "store" out of the policy' in reason


def test_a_number_sent_as_a_string_gets_the_datatype_hint() -> None:
    (reason,) = matching.explain_filter(
        {"price": [{"numeric": [">", 10]}]}, attributes={"price": S("20")}
    ).reasons
    assert 'DataType "Number"' in reason


def test_a_quoted_number_in_an_event_gets_the_json_number_hint() -> None:
    (reason,) = matching.explain_pattern(
        {"detail": {"amount": [{"numeric": [">", 0]}]}}, {"detail": {"amount": "5"}}
    ).reasons
    assert '"detail.amount"' in reason and "without quotes" in reason


def test_exists_false_on_a_message_without_attributes_says_why() -> None:
    (reason,) = matching.explain_filter({"store": [{"exists": False}]}, attributes={}).reasons
    assert "no attributes at all" in reason and "at least one attribute" in reason


def test_or_lists_each_alternative_that_failed() -> None:
    (reason,) = matching.explain_pattern(
        {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": "0", "b": "0"}
    ).reasons
    assert "(1)" in reason and "(2)" in reason and '"a"' in reason and '"b"' in reason


def test_a_nested_or_numbers_its_branches_under_the_outer_one() -> None:
    pattern = {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}
    (reason,) = matching.explain_pattern(pattern, {"a": "0"}).reasons
    marks = [m for m in ("(1)", "(2)", "(2.1)", "(2.2)") if m in reason]
    assert marks == ["(1)", "(2)", "(2.1)", "(2.2)"]
    assert reason.index("(2)") < reason.index("(2.1)") < reason.index("(2.2)")


@pytest.mark.parametrize(
    ("scope", "value"),
    [
        ("MessageBody", ["rugby", "golf"]),
        ("MessageBody", ["golf"]),
        ("MessageAttributes", ["rugby", "golf"]),
    ],
)
def test_an_array_value_is_advised_one_element_not_the_whole_array(
    scope: str, value: list[str]
) -> None:
    policy = {"sports": ["tennis"]}
    if scope == "MessageBody":
        verdict = matching.explain_filter(policy, scope=scope, body=json.dumps({"sports": value}))
    else:
        attribute = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        verdict = matching.explain_filter(policy, attributes={"sports": attribute})
    (reason,) = verdict.reasons
    advised = reason.split("such as ", 1)[1].split(")", 1)[0]
    assert "one of its elements" in reason and advised == json.dumps(value[0])
    fixed = {"sports": ["tennis", json.loads(advised)]}  # the advice, applied, is a valid policy
    if scope == "MessageBody":
        assert matching.explain_filter(fixed, scope=scope, body=json.dumps({"sports": value}))
    else:
        assert matching.explain_filter(fixed, attributes={"sports": attribute})


def test_exists_true_on_an_empty_string_says_sns_counts_it_as_absent() -> None:
    body = json.dumps({"coupon": ""})
    verdict = matching.explain_filter(
        {"coupon": [{"exists": True}]}, scope="MessageBody", body=body
    )
    assert not verdict and "counts an empty string as absent" in verdict.reasons[0]


def test_array_elements_do_not_combine_and_the_sentence_says_so() -> None:
    event = {"e": [{"f": "Anna", "l": "Smith"}, {"f": "Peter", "l": "Jones"}]}
    verdict = matching.explain_pattern({"e": {"f": ["Anna"], "l": ["Jones"]}}, event)
    assert not verdict
    assert "different elements do not combine" in verdict.reasons[0]


def test_a_body_that_is_not_json_cannot_match_a_body_policy() -> None:
    verdict = matching.explain_filter({"a": ["b"]}, scope="MessageBody", body="plain text")
    assert not verdict and "not a JSON object" in verdict.reasons[0]


def test_a_match_says_so() -> None:
    verdict = matching.explain_pattern({"source": ["shop"]}, {"source": "shop"})
    assert verdict and str(verdict).startswith("delivered")


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "scope", "words"),
    [
        ({"a": "b"}, "MessageAttributes", '"a" must be an object or an array'),
        ({"a": []}, "MessageAttributes", "Empty arrays are not allowed"),
        ({"a": [{"prefx": "b"}]}, "MessageAttributes", "Unrecognized match type prefx"),
        ({"a": [{"exists": "yes"}]}, "MessageBody", "exists match pattern"),
        ({"a": [{"numeric": ["<", "5"]}]}, "MessageAttributes", "must be numeric"),
        ({"a": [{"cidr": "10.0.0.0"}]}, "MessageAttributes", "Malformed CIDR"),
        ({"a": [["x"]]}, "MessageAttributes", "Match value must be"),
        ({"a": ["x"]}, "Body", "FilterPolicyScope"),
    ],
)
def test_invalid_policies_name_what_is_wrong(policy: Any, scope: str, words: str) -> None:
    with pytest.raises(matching.InvalidFilterPolicy) as raised:
        matching.validate_filter_policy(policy, scope)
    assert words in raised.value.aws_message
    assert isinstance(raised.value, matching.MatcherError) and raised.value.hint


def test_unknown_operator_suggests_the_near_one() -> None:
    with pytest.raises(matching.InvalidEventPattern) as raised:
        matching.validate_pattern({"a": [{"Prefix": "x"}]})
    assert 'did you mean "prefix"' in raised.value.hint


def test_or_complexity_adds_up_alternatives() -> None:
    documented = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1, 2]}, {"spaceId": [1, 2, 3]}]},
        ],
    }
    assert matching._combinations(documented, 1) == 7
    nested = {"key_a": {"key_b": {"key_c": [1, 2, 3, 4]}}, "key_d": {"key_e": [1, 2, 3]}}
    assert matching._combinations(nested, 1) == 72  # the constraints page's 3 x 4 x 2 x 3


# -- one matcher: the fast path, the explainer and moto's patched decision agree ------------------
_values = st.sampled_from(["rugby", "tennis", "baseball", "10.0.0.7", "ORDER-1", ""])
_numbers = st.integers(min_value=-5, max_value=205)
_conditions = st.one_of(
    _values,
    _numbers,
    st.builds(lambda v: {"prefix": v[:3]}, _values),
    st.builds(lambda v: {"suffix": v[-2:]}, _values),
    st.builds(lambda v: {"equals-ignore-case": v.upper()}, _values),
    st.builds(lambda v: {"anything-but": v}, _values),
    st.builds(lambda v: {"anything-but": {"prefix": v[:2] or "x"}}, _values),
    st.builds(lambda n: {"numeric": [">=", n, "<", n + 50]}, _numbers),
    st.just({"cidr": "10.0.0.0/24"}),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.just({"wildcard": "*ball"}),
)
_policies = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.lists(_conditions, min_size=1, max_size=3), min_size=1
)
_leaves = st.one_of(_values, _numbers, st.lists(st.one_of(_values, _numbers), max_size=3))
_bodies = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _leaves, max_size=4)


def _attributes(body: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in body.items():
        if isinstance(value, list):
            out[key] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, int):
            out[key] = {"DataType": "Number", "StringValue": str(value)}
        elif value:
            out[key] = S(value)
    return out


@settings(max_examples=150, deadline=None)
@given(policy=_policies, message=_bodies)
def test_fast_path_explainer_and_moto_agree(
    policy: dict[str, Any], message: dict[str, Any]
) -> None:

    with REGISTRY.active():
        _fast_explained_and_moto_agree(policy, message)


def _fast_explained_and_moto_agree(policy: dict[str, Any], message: dict[str, Any]) -> None:
    from moto.events.models import EventPattern
    from moto.sns.utils import FilterPolicyMatcher

    attributes = _attributes(message)
    for scope in matching.SCOPES:
        body = json.dumps(message)
        fast = matching.filter_matches(policy, scope=scope, body=body, attributes=attributes)
        verdict = matching.explain_filter(policy, scope=scope, body=body, attributes=attributes)
        assert fast == verdict.matched
        assert verdict.reasons
        # moto holds attributes as {"Type", "Value"} after Publish
        moto_shape = {
            k: {"Type": v["DataType"], "Value": v["StringValue"]} for k, v in attributes.items()
        }
        assert FilterPolicyMatcher(policy, scope).matches(moto_shape, body) == fast
    pattern = {"detail": policy}
    event = {"source": "s", "detail": message}
    explained = matching.explain_pattern(pattern, event)
    assert matching.pattern_matches(pattern, event) == explained.matched
    assert EventPattern.load(json.dumps(pattern)).matches_event(event) == explained.matched


@settings(max_examples=60, deadline=None)
@given(policy=_policies, message=_bodies)
def test_a_dropped_message_always_names_a_key_of_the_policy(
    policy: dict[str, Any], message: dict[str, Any]
) -> None:
    verdict = matching.explain_filter(policy, scope="MessageBody", body=json.dumps(message))
    if not verdict:
        assert any(f'"{key}"' in " ".join(verdict.reasons) for key in policy)


# -- fidelity: guarded, idempotent, through the service on every backend ------------------------
def test_why_not_delivered_reads_the_policy_from_the_service(lab: labkit.Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url = sqs.create_queue(QueueName="big-orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sub = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={
            "FilterPolicy": json.dumps({"order": {"total": [{"numeric": [">=", 100]}]}}),
            "FilterPolicyScope": "MessageBody",
        },
    )["SubscriptionArn"]
    small = json.dumps({"order": {"total": 20}})
    verdict = labkit.why_not_delivered(lab, subscription_arn=sub, message=small)
    assert not verdict and '"order.total" is 20' in verdict.reasons[0]
    plain = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"] + "-x")
    gone = labkit.why_not_delivered(lab, subscription_arn=plain["SubscriptionArn"], message="")
    assert not gone and "'big-orders-x' does not exist" in gone.reasons[0]


def test_why_not_matched_reads_the_rule_and_knows_disabled_rules(lab: labkit.Lab) -> None:
    events = lab.client("events")
    events.put_rule(Name="refunds", EventPattern=json.dumps({"detail-type": ["RefundIssued"]}))
    verdict = labkit_matching_event(lab, "RefundIssued")
    assert verdict
    assert not labkit_matching_event(lab, "PaymentFailed")
    events.disable_rule(Name="refunds")
    disabled = labkit_matching_event(lab, "RefundIssued")
    assert not disabled and "disabled" in disabled.reasons[0]


def labkit_matching_event(lab: labkit.Lab, detail_type: str) -> matching.Verdict:
    event = {"source": "shop", "detail-type": detail_type, "detail": {}}
    return labkit.why_not_matched(lab, rule="refunds", event=event)


def test_invalid_pattern_is_refused_at_put_rule_on_embedded(embedded_lab: labkit.Lab) -> None:
    events = embedded_lab.client("events")
    with pytest.raises(events.exceptions.InvalidEventPatternException) as raised:
        events.put_rule(Name="r", EventPattern=json.dumps({"a": [{"wildcard": "x**"}]}))
    assert "Consecutive wildcard" in str(raised.value)


def test_parsed_policies_are_cached() -> None:
    policy = {"k": ["v"]}
    assert matching.compile_policy(policy) is matching.compile_policy(dict(policy))
