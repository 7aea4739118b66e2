"""S3 in the lab: buckets and objects, and event notifications to a queue (moto delivers them
inside PutObject, without Docker), on both backends."""

from __future__ import annotations

import json

import labkit


def test_an_object_created_in_a_bucket_is_announced_to_its_queue(lab: labkit.Lab) -> None:
    s3, sqs = lab.client("s3"), lab.client("sqs")
    s3.create_bucket(Bucket="scans")
    url = sqs.create_queue(QueueName="scans-created")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket="scans",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket="scans", Key="o-99.json", Body=b'{"pages": 3}')
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    # S3 checks the destination with a test event first (PutBucketNotificationConfiguration)
    assert bodies[0]["Event"] == "s3:TestEvent" and bodies[0]["Bucket"] == "scans"
    (record,) = bodies[1]["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == "scans"
    assert record["s3"]["object"]["key"] == "o-99.json"
    got = s3.get_object(Bucket="scans", Key=record["s3"]["object"]["key"])
    assert json.loads(got["Body"].read()) == {"pages": 3}
