"""A Lambda handler written out from the workbook's lab."""

from __future__ import annotations

import json

# the handler's memory in the lab: empty in each new execution environment
invoices = {}


def orders_in(event):
    """The orders in an SQS batch: each record's body is an EventBridge event."""
    return [(record["messageId"], json.loads(record["body"])["detail"]) for record in event["Records"]]


def read_amount(amount):
    """An amount as a number; also accepts text with a decimal comma ("12,50")."""
    return float(amount.replace(",", ".")) if isinstance(amount, str) else float(amount)


def billing(event, context):
    """Billing v2: invoice each order, reading amounts written with a decimal comma too."""
    failures = []
    for message_id, order in orders_in(event):
        try:
            invoices[order["order_id"]] = read_amount(order["amount"])
        except (TypeError, ValueError):
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
