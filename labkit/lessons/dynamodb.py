"""DynamoDB tables for the lessons: one call for a table keyed by one string attribute.

Lesson 06 teaches ``create_table``; later lessons make many small tables, so here it is one line.

>>> import labkit
>>> lab = labkit.start_lab()
>>> ddb = lab.client("dynamodb")
>>> key_table(ddb, "orders", "order_id")["KeySchema"]
[{'AttributeName': 'order_id', 'KeyType': 'HASH'}]
>>> outbox = key_table(ddb, "outbox", "event_id",
...     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
>>> outbox["LatestStreamArn"].split(":table/")[1].startswith("outbox/stream/")
True
>>> lab.stop()
"""

from __future__ import annotations

from typing import Any

__all__ = ["key_table"]


def key_table(ddb: Any, name: str, key: str, **options: Any) -> dict[str, Any]:
    """Create a pay-per-request table keyed by the string attribute `key`; its description.

    ``options`` go to ``create_table`` as they are (``StreamSpecification``, ``Tags``, ...).
    """
    answer = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )
    return dict(answer["TableDescription"])
