"""How long a lab takes to start next to stock moto, each in a fresh Python process.

Prints ``name: value`` lines; the ratio is measured in one run, alternating the two sides so a
busy machine slows both alike. Each side: import, start the mock, make an SQS client, create a
queue (what the first cell of a lesson and its first call do).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 7

STOCK = """
import boto3, moto
moto.mock_aws().start()
sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
sqs.create_queue(QueueName="orders")
"""
LABKIT = """
import labkit
lab = labkit.start_lab()
lab.client("sqs").create_queue(QueueName="orders")
"""


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main() -> None:
    _seconds("import boto3, moto, labkit")  # warm the disk cache and bytecode for both sides
    stock, lab = [], []
    for _ in range(RUNS):
        stock.append(_seconds(STOCK))
        lab.append(_seconds(LABKIT))
    moto_s, lab_s = statistics.median(stock), statistics.median(lab)
    print(f"moto_start_seconds: {moto_s:.3f}")
    print(f"lab_start_seconds: {lab_s:.3f}")
    print(f"lab_start_over_moto: {lab_s / moto_s:.2f}")


if __name__ == "__main__":
    main()
