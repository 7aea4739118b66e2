"""The lab session: lifecycle, idempotent setup, seeding, quiet logs, and advice on mistakes."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError
from moto.core.models import MockAWS

import labkit
from labkit.lab.realaws import LAB_TAG
from tests.conftest import assert_explained
from tests.scenarios import finished, state_machine


def test_context_manager_starts_and_stops() -> None:
    with labkit.Lab() as lab:
        assert lab.running
        assert lab.client("sqs").list_queues().get("QueueUrls") is None
    assert not lab.running
    assert MockAWS._nested_count == 0


def test_rerunning_the_setup_cell_gives_one_mock_and_a_clean_state() -> None:
    first = labkit.start_lab()
    first.client("sqs").create_queue(QueueName="orders")
    hooks_first = len(first._hooks)
    second = labkit.start_lab()
    try:
        assert not first.running
        assert MockAWS._nested_count == 1
        assert second.client("sqs").list_queues().get("QueueUrls") is None
        assert len(second._hooks) == hooks_first
        assert labkit.current_lab() is second
    finally:
        second.stop()
    assert MockAWS._nested_count == 0


def test_reset_wipes_state_and_rewinds_the_clock(embedded_lab: labkit.Lab) -> None:
    sqs = embedded_lab.client("sqs")
    sqs.create_queue(QueueName="orders")
    embedded_lab.advance(120)
    assert embedded_lab.clock.elapsed() == 120
    embedded_lab.reset()
    assert sqs.list_queues().get("QueueUrls") is None
    assert embedded_lab.clock.elapsed() == 0


def _message_ids() -> list[str]:
    with labkit.Lab(seed=7) as lab:
        sqs = lab.client("sqs")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        return [sqs.send_message(QueueUrl=url, MessageBody=str(i))["MessageId"] for i in range(3)]


def test_ids_repeat_run_after_run() -> None:
    assert _message_ids() == _message_ids()


def test_ids_repeat_on_both_backends(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    first = sns.publish(TopicArn=arn, Message="a")["MessageId"]
    lab.reset()
    arn = sns.create_topic(Name="orders")["TopicArn"]
    assert sns.publish(TopicArn=arn, Message="a")["MessageId"] == first


def test_step_functions_really_execute(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = state_machine(lab, "hello")
    run = sfn.start_execution(stateMachineArn=arn, name="first", input="{}")["executionArn"]
    assert finished(sfn, run) == "SUCCEEDED"


def test_moto_log_noise_does_not_reach_the_notebook(embedded_lab: labkit.Lab) -> None:
    for name in ("moto", "werkzeug"):
        assert not logging.getLogger(name).isEnabledFor(logging.ERROR)


# -- mistakes a learner can make: each error says expected / found / what to do ---------------


def test_unknown_backend() -> None:
    with pytest.raises(labkit.UnknownBackend) as err:
        labkit.Lab("localstack")
    assert_explained(err.value, "'localstack'", "embedded, endpoint, aws")


def test_unknown_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_BACKEND", "moto")
    with pytest.raises(labkit.UnknownBackend) as err:
        labkit.Lab()
    assert_explained(err.value, "'moto'", "LABKIT_BACKEND")


def test_aws_without_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_ALLOW_AWS", raising=False)
    with pytest.raises(labkit.AwsNotAllowed) as err:
        labkit.Lab("aws")
    assert_explained(err.value, "LABKIT_ALLOW_AWS", labkit.AWS_OPT_IN_VALUE)


def test_aws_with_a_wrong_opt_in_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_ALLOW_AWS", "1")
    with pytest.raises(labkit.AwsNotAllowed):
        labkit.Lab("aws")


def test_endpoint_without_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_ENDPOINT_URL", raising=False)
    with pytest.raises(labkit.LabError) as err:
        labkit.Lab("endpoint")
    assert_explained(err.value, "python -m labkit.server")


def test_endpoint_url_without_scheme() -> None:
    with pytest.raises(labkit.LabError) as err:
        labkit.Lab("endpoint", endpoint_url="127.0.0.1:5000")
    assert_explained(err.value, "'127.0.0.1:5000'", "http://")


def test_endpoint_that_does_not_answer() -> None:
    with pytest.raises(labkit.LabError) as err:
        labkit.Lab("endpoint", endpoint_url="http://127.0.0.1:9")
    assert_explained(err.value, "http://127.0.0.1:9", "python -m labkit.server")


def test_cell_run_before_the_setup_cell() -> None:
    labkit.start_lab().stop()
    with pytest.raises(labkit.LabNotStarted) as err:
        labkit.current_lab()
    assert_explained(err.value, "start_lab()")


def test_client_after_stop() -> None:
    lab = labkit.start_lab()
    lab.stop()
    with pytest.raises(labkit.LabNotStarted) as err:
        lab.client("sqs")
    assert_explained(err.value, "stopped")


def test_unknown_service(embedded_lab: labkit.Lab) -> None:
    with pytest.raises(labkit.LabError) as err:
        embedded_lab.client("eventbridge")
    assert_explained(err.value, "'eventbridge'", "'events'")


def test_time_going_backwards(embedded_lab: labkit.Lab) -> None:
    with pytest.raises(labkit.LabError) as err:
        embedded_lab.advance(-5)
    assert_explained(err.value, "-5")


def test_unknown_queue_lists_the_queues_there_are(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="orders")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as err:
        sqs.get_queue_url(QueueName="order")
    assert_explained(err.value, "'order'", "these queues: orders")


def test_fifo_send_without_group_id(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as err:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="1")
    assert err.value.response["Error"]["Code"] == "MissingParameter"
    assert_explained(err.value, "MessageGroupId")


def test_fifo_send_without_deduplication(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as err:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="c1")
    assert_explained(err.value, "ContentBasedDeduplication")


def test_fifo_queue_name_without_suffix(lab: labkit.Lab) -> None:
    with pytest.raises(ClientError) as err:
        lab.client("sqs").create_queue(QueueName="orders", Attributes={"FifoQueue": "true"})
    assert_explained(err.value, "'orders.fifo'")


def test_message_id_used_as_receipt_handle(lab: labkit.Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    message_id = sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    with pytest.raises(ClientError) as err:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message_id)
    assert_explained(err.value, "ReceiptHandle")


def test_publish_to_unknown_topic(lab: labkit.Lab) -> None:
    sns = lab.client("sns")
    sns.create_topic(Name="orders")
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:order", Message="x")
    assert_explained(err.value, "these topics: orders")


def test_targets_for_unknown_rule(lab: labkit.Lab) -> None:
    events = lab.client("events")
    events.put_rule(Name="big-orders", EventPattern='{"source": ["shop"]}')
    with pytest.raises(ClientError) as err:
        events.put_targets(
            Rule="big-order", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]
        )
    assert_explained(err.value, "'big-order'", "big-orders")


def test_unknown_state_machine(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    with pytest.raises(ClientError) as err:
        sfn.start_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope", name="a"
        )
    assert_explained(err.value, "create_state_machine")


# -- the real-account backend: prefixed, tagged, removed ------------------------------------------


def test_aws_backend_prefixes_tags_and_removes_what_it_creates() -> None:
    from moto import mock_aws

    with mock_aws():  # stands in for the account; the lab itself runs as on AWS
        lab = labkit.Lab("aws", allow_aws=True, prefix="lab-")
        lab.start()
        assert lab.backend.name == "aws"
        sqs, sns, events = lab.client("sqs"), lab.client("sns"), lab.client("events")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        assert url.endswith("/lab-orders")
        assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
        assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {LAB_TAG[0]: LAB_TAG[1]}
        topic = sns.create_topic(Name="news")["TopicArn"]
        assert topic.endswith(":lab-news")
        events.create_event_bus(Name="shop")
        events.put_rule(Name="all", EventBusName="shop", EventPattern='{"source": ["x"]}')
        events.put_targets(
            Rule="all", EventBusName="shop", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:x"}]
        )
        assert [r["Name"] for r in events.list_rules(EventBusName="shop")["Rules"]] == ["lab-all"]
        s3 = lab.client("s3")
        s3.create_bucket(Bucket="scans")
        tags = s3.get_bucket_tagging(Bucket="scans")["TagSet"]
        assert tags == [{"Key": LAB_TAG[0], "Value": LAB_TAG[1]}]
        s3.put_object(Bucket="scans", Key="o-1.json", Body=b"{}")  # emptied before deleting
        assert s3.get_object(Bucket="scans", Key="o-1.json")["Body"].read() == b"{}"

        import boto3

        outside = boto3.client("sqs", region_name="us-east-1")
        outside.create_queue(QueueName="not-the-labs")
        outside_s3 = boto3.client("s3", region_name="us-east-1")
        assert [b["Name"] for b in outside_s3.list_buckets()["Buckets"]] == ["lab-scans"]
        lab.stop()
        assert [u.rsplit("/", 1)[1] for u in outside.list_queues()["QueueUrls"]] == ["not-the-labs"]
        outside_sns = boto3.client("sns", region_name="us-east-1")
        assert outside_sns.list_topics()["Topics"] == []
        outside_events = boto3.client("events", region_name="us-east-1")
        names = [b["Name"] for b in outside_events.list_event_buses()["EventBuses"]]
        assert names == ["default"]
        assert outside_s3.list_buckets()["Buckets"] == []


def test_reset_leaves_moto_answering_the_urls_it_answered(embedded_lab: labkit.Lab) -> None:
    import requests

    url = "http://motoapi.amazonaws.com/moto-api/data.json"
    assert requests.get(url, timeout=5).status_code == 200
    embedded_lab.reset()
    assert requests.get(url, timeout=5).status_code == 200


def test_a_second_lab_on_the_same_world_is_refused(lab: labkit.Lab) -> None:
    other = labkit.Lab(lab.backend.name, endpoint_url=lab.backend.endpoint_url)
    with pytest.raises(labkit.LabError) as caught:
        other.start()
    assert "already running" in caught.value.found
    assert "start_lab()" in caught.value.hint
    assert lab.running and lab.client("sqs").list_queues()
    assert not other.running


def test_advance_refuses_what_the_clock_cannot_show_and_the_lab_goes_on(
    lab: labkit.Lab,
) -> None:
    with pytest.raises(labkit.LabError) as caught:
        lab.advance(1e12)
    assert "100 years" in caught.value.expected
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="still-fine")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "x"


def test_a_dead_server_is_named_and_a_restarted_one_runs_state_machines() -> None:
    """After the server dies the lab says which URL and how to start it; a server restarted on
    the same port runs Step Functions executions without the lab configuring it again."""
    from tests.labserver import LabServerProcess

    server = LabServerProcess()
    url = server.start()
    lab = labkit.start_lab("endpoint", endpoint_url=url)
    try:
        server.stop()
        with pytest.raises(labkit.LabError) as caught:
            lab.advance(5)
        assert url in caught.value.expected and "python -m labkit.server" in caught.value.hint
        port = url.rsplit(":", 1)[1]
        restarted = LabServerProcess(port=int(port))
        assert restarted.start() == url
        try:
            sfn = lab.client("stepfunctions")
            machine = state_machine(lab, "m")
            run = sfn.start_execution(stateMachineArn=machine, name="first")["executionArn"]
            assert finished(sfn, run) == "SUCCEEDED"
        finally:
            restarted.stop()
    finally:
        lab.stop()


def test_the_lab_hands_out_cloudwatch_clients(lab: labkit.Lab) -> None:
    cloudwatch = lab.client("cloudwatch")
    dimensions = [{"Name": "QueueName", "Value": "orders"}]
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "NumberOfMessagesSent",
                "Dimensions": dimensions,
                "Timestamp": lab.clock.now(),
                "Value": 3.0,
                "Unit": "Count",
            }
        ],
    )
    listed = cloudwatch.list_metrics(Namespace="AWS/SQS")["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [
        ("NumberOfMessagesSent", dimensions)
    ]
