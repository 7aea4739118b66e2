"""A callback task's TimeoutSeconds and HeartbeatSeconds run out on the lab's clock, as on AWS
after that many seconds: the state fails with States.Timeout, and a Catch on States.ALL takes it.
"""

from __future__ import annotations

import json
from typing import Any

import labkit
from labkit.lessons.saga import run_executions
from labkit.lessons.workflows import run_workflows

ROLE = "arn:aws:iam::123456789012:role/timeouts"


def machine(lab: labkit.Lab, name: str, **timeouts: int) -> str:
    """A state machine that puts a command with its task token on a queue nobody reads."""
    sqs, sfn = lab.client("sqs"), lab.client("stepfunctions")
    url = sqs.create_queue(QueueName=f"{name}-commands")["QueueUrl"]
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
                **timeouts,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}],
                "End": True,
            },
            "Undo": {"Type": "Pass", "End": True},
        },
    }
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return str(arn["stateMachineArn"])


def token(lab: labkit.Lab, name: str, execution: str) -> str:
    """The task token the execution put on its queue, once it waits for it."""
    assert run_executions(lab, execution) == {execution: "RUNNING"}
    sqs = lab.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{name}-commands")["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    return str(json.loads(message["Body"])["token"])


def timed_out(lab: labkit.Lab, execution: str) -> list[dict[str, Any]]:
    history = lab.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    return [e["taskTimedOutEventDetails"] for e in history if e["type"] == "TaskTimedOut"]


def test_a_callback_task_times_out_after_its_seconds_of_lab_time(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = machine(lab, "timeout", TimeoutSeconds=300)
    execution = sfn.start_execution(stateMachineArn=arn, name="o-1", input="{}")["executionArn"]
    assert run_executions(lab, execution) == {execution: "RUNNING"}  # waiting for its token
    lab.advance(299)
    assert run_executions(lab, execution) == {execution: "RUNNING"}
    assert timed_out(lab, execution) == []
    lab.advance(2)
    assert run_executions(lab, execution) == {execution: "SUCCEEDED"}  # through the Catch
    assert [d["error"] for d in timed_out(lab, execution)] == ["States.Timeout"]
    output = json.loads(sfn.describe_execution(executionArn=execution)["output"])
    assert output["error"]["Error"] == "States.Timeout"


def test_heartbeats_keep_a_callback_task_alive_until_they_stop(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = machine(lab, "heartbeat", TimeoutSeconds=600, HeartbeatSeconds=60)
    execution = sfn.start_execution(stateMachineArn=arn, name="o-2", input="{}")["executionArn"]
    task = token(lab, "heartbeat", execution)
    for _ in range(3):  # three minutes of work, a heartbeat every 50 s
        lab.advance(50)
        sfn.send_task_heartbeat(taskToken=task)
    assert run_executions(lab, execution) == {execution: "RUNNING"}
    lab.advance(61)  # the worker went quiet
    assert run_executions(lab, execution) == {execution: "SUCCEEDED"}
    assert len(timed_out(lab, execution)) == 1


def test_a_task_answered_in_time_does_not_time_out(lab: labkit.Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = machine(lab, "answered", TimeoutSeconds=300)
    execution = sfn.start_execution(stateMachineArn=arn, name="o-3", input="{}")["executionArn"]
    task = token(lab, "answered", execution)
    lab.advance(100)
    sfn.send_task_success(taskToken=task, output=json.dumps({"outcome": "charged"}))
    assert run_executions(lab, execution) == {execution: "SUCCEEDED"}
    lab.advance(600)
    assert timed_out(lab, execution) == []
    assert json.loads(sfn.describe_execution(executionArn=execution)["output"]) == {
        "outcome": "charged"
    }


def test_a_heartbeat_restarts_the_count_the_moment_it_is_answered(lab: labkit.Lab) -> None:
    """The lab moves its clock to the next deadline it knows of: right after SendTaskHeartbeat
    that must be the heartbeat's new one, not the one it replaced, whenever moto's thread wakes."""
    sfn = lab.client("stepfunctions")
    arn = machine(lab, "restart", TimeoutSeconds=3600, HeartbeatSeconds=60)
    execution = sfn.start_execution(stateMachineArn=arn, name="o-4", input="{}")["executionArn"]
    task = token(lab, "restart", execution)
    lab.advance(30)
    sfn.send_task_heartbeat(taskToken=task)
    assert lab.clock.next_timer() == 60.0
    # the clock moves to each deadline the lab knows of, as a lesson's run_workflows does
    assert run_workflows(lab, execution) == {execution: "SUCCEEDED"}  # timed out, then caught
    history = sfn.get_execution_history(executionArn=execution)["events"]
    started = history[0]["timestamp"]
    assert [(e["timestamp"] - started).total_seconds() for e in history
            if e["type"] == "TaskTimedOut"] == [90.0]  # fmt: skip
    assert lab.clock.timers() == []  # the heartbeat's wait ended with its task
