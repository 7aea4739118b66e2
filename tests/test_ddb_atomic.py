"""Concurrent DynamoDB updates of one item all count, as on AWS (labkit.moto_patches.ddb_atomic)."""

from __future__ import annotations

import threading

import labkit
from labkit.moto_patches import REGISTRY
from tests.scenarios import create_table

THREADS, UPDATES = 6, 100


def _hammer(lab: labkit.Lab) -> int:
    ddb = lab.client("dynamodb")
    create_table(lab, "accounts", "customer")
    ddb.put_item(TableName="accounts", Item={"customer": {"S": "ana"}, "charges": {"N": "0"}})

    def charge() -> None:
        client = lab.client("dynamodb")
        for _ in range(UPDATES):
            client.update_item(
                TableName="accounts",
                Key={"customer": {"S": "ana"}},
                UpdateExpression="ADD charges :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    workers = [threading.Thread(target=charge) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    item = ddb.get_item(TableName="accounts", Key={"customer": {"S": "ana"}})["Item"]
    return int(item["charges"]["N"])


def test_every_concurrent_update_counts(embedded_lab: labkit.Lab) -> None:
    embedded_lab.client("dynamodb")
    import moto.dynamodb.models  # noqa: F401  (the change applies once moto's DynamoDB is loaded)

    assert "ddb_atomic" in REGISTRY.applied
    assert _hammer(embedded_lab) == THREADS * UPDATES
