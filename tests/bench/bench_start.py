"""How long a lab takes to start next to stock moto, each in a fresh Python process.

Prints ``name: value`` lines; the ratio is measured in one run, alternating the two sides so a
busy machine slows both alike. Each start is timed as the CPU time its process used (user plus
system), which other work on a busy machine disturbs far less than the wall clock; the ratio
compares the medians. Each side: import, start the mock, make an SQS client, create a
queue (what the first cell of a lesson and its first call do).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
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
    """CPU seconds (user + system) a fresh Python process takes to run `code`."""
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    _seconds("import boto3, moto, labkit")  # warm the disk cache and bytecode for both sides
    stock, lab = [], []
    for _ in range(RUNS):
        stock.append(_seconds(STOCK))
        lab.append(_seconds(LABKIT))
    moto_s, lab_s = statistics.median(stock), statistics.median(lab)
    print(f"moto_start_cpu_seconds: {moto_s:.3f}")
    print(f"lab_start_cpu_seconds: {lab_s:.3f}")
    print(f"lab_start_over_moto: {lab_s / moto_s:.2f}")


if __name__ == "__main__":
    main()
