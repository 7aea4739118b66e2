"""Step Functions runs without loading EC2; Batch still answers when it is called."""

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import labkit
lab = labkit.start_lab()
sfn = lab.client("stepfunctions")
definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
arn = sfn.create_state_machine(name="m", definition=json.dumps(definition),
                               roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
execution = sfn.start_execution(stateMachineArn=arn, name="run-1")["executionArn"]
from labkit.lessons.saga import run_executions
run_executions(lab, execution)
status = sfn.describe_execution(executionArn=execution)["status"]
ec2_after_sfn = "moto.ec2.models" in sys.modules
batch = lab.session.client("batch", region_name="us-east-1")
environments = batch.describe_compute_environments()["computeEnvironments"]
ec2_after_batch = "moto.ec2.models" in sys.modules
print(json.dumps({"status": status, "ec2_after_sfn": ec2_after_sfn,
                  "environments": environments, "ec2_after_batch": ec2_after_batch}))
"""


def run(script: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_state_machine_runs_without_ec2_and_batch_loads_when_called():
    seen = run(SCRIPT)
    assert seen["status"] == "SUCCEEDED", seen
    assert seen["ec2_after_sfn"] is False, "running a state machine loaded moto's EC2 models"
    assert seen["environments"] == []
    assert seen["ec2_after_batch"] is True, "a Batch call should load Batch (and EC2) for real"
