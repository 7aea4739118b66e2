"""Every change labkit makes to moto, in one registry, applied only while a lab runs.

Each change is a module here (the filter policies and the event patterns share one) holding its
rows, what it replaces in moto; `CHANGES` lists every change with the moto module it needs, the
AWS behaviour it follows and the documentation page that says so (see
`labkit.moto_patches.registry`). The first lab to start holds the registry, the last to stop
lets go and moto is stock again; ``python -m labkit.server`` holds it for its lifetime. A change
applies when its moto module is first imported, in the order below: where two changes wrap the
same method, the later one wraps the earlier.

>>> REGISTRY.applied
()
>>> with REGISTRY.active():
...     import moto.sqs.models
...     "sqs_fastpath" in REGISTRY.applied
True
>>> REGISTRY.applied
()
"""

from labkit.moto_patches import (
    ddb_atomic,
    ddb_stream_rollback,
    delivery_metrics,
    delivery_policies,
    events_input_transformer,
    events_schedules,
    events_targets,
    events_validation,
    filters_and_patterns,
    lambda_esm_validation,
    lambda_no_docker,
    lazy_batch,
    moto_botocore_data,
    server_module_list,
    sfn_definitions,
    sfn_errors,
    sfn_lab_time,
    sfn_quiet_lexer,
    sfn_task_timeouts,
    sns_envelope,
    sns_to_lambda,
    sns_validation,
    sqs_dedup_window,
    sqs_fastpath,
    sqs_fifo_groups,
    sqs_long_poll,
    sqs_message_moves,
    sqs_receipt_handles,
    sqs_validation,
    sqs_zero_visibility,
)
from labkit.moto_patches.registry import Change, Registry

__all__ = ["CHANGES", "REGISTRY", "Change", "Registry"]

#: Every change, in the order it is applied: its name, the moto module it needs, the AWS behaviour
#: it follows, the documentation page that says so ("" for a change that only makes moto faster
#: or quieter and changes nothing a client sees), and its rows (from its module here).
CHANGES: tuple[Change, ...] = (
    Change(
        "lazy_batch",
        "moto",
        "Step Functions starts without loading moto's Batch and EC2 models (nothing a client sees)",
        "",
        lazy_batch.ROWS,
    ),
    Change(
        "moto_botocore_data",
        "moto.core.base_backend",
        "moto parses botocore's endpoint table once, with the lab (nothing a client sees)",
        "",
        moto_botocore_data.ROWS,
    ),
    Change(
        "server_module_list",
        "moto.backends",
        "moto's server looks its services up without listing a directory per request",
        "",
        server_module_list.ROWS,
    ),
    # SQS: receive_message is wrapped three times, innermost first
    Change(
        "sqs_fifo_groups",
        "moto.sqs.models",
        "a FIFO message group is blocked only while one of its messages is in flight",
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
            "FIFO-queues-understanding-logic.html"
        ),
        sqs_fifo_groups.ROWS,
    ),
    Change(
        "sqs_long_poll",
        "moto.sqs.models",
        (
            "a long poll returns when a message becomes receivable or the wait ends "
            "(on simulated time)"
        ),
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
            "sqs-short-and-long-polling.html"
        ),
        sqs_long_poll.ROWS,
    ),
    Change(
        "sqs_message_moves",
        "moto.sqs.models",
        "dead letters remember their source queue; message move tasks redrive them",
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
            "API_StartMessageMoveTask.html"
        ),
        sqs_message_moves.ROWS,
    ),
    Change(
        "sqs_fastpath",
        "moto.sqs.models",
        "SQS calls cost the same at any queue depth (the answers are moto's own)",
        "",
        sqs_fastpath.ROWS,
    ),
    Change(
        "sqs_dedup_window",
        "moto.sqs.models",
        "a FIFO deduplication id is remembered for 5 minutes, even after the message is deleted",
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
            "FIFO-queues-exactly-once-processing.html"
        ),
        sqs_dedup_window.ROWS,
    ),
    Change(
        "sqs_receipt_handles",
        "moto.sqs.models",
        "receipt handles cost one random draw, not 185 (they stay opaque, as on AWS)",
        "",
        sqs_receipt_handles.ROWS,
    ),
    Change(
        "sqs_zero_visibility",
        "moto.sqs.models",
        "ChangeMessageVisibility with VisibilityTimeout=0 makes the message visible at once",
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
            "API_ChangeMessageVisibility.html"
        ),
        sqs_zero_visibility.ROWS,
    ),
    Change(
        "sqs_validation",
        "moto.sqs.models",
        (
            "queue attributes, timeouts, delays and Number attributes outside SQS's ranges are "
            "refused, and a refused CreateQueue or SetQueueAttributes changes nothing"
        ),
        (
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/"
            "API_SetQueueAttributes.html"
        ),
        sqs_validation.ROWS,
    ),
    # SNS
    Change(
        "sns_filter_policies",
        "moto.sns.models",
        "SNS accepts, rejects and applies filter policies as its developer guide documents",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html",
        filters_and_patterns.SNS_FILTER_POLICY_ROWS,
    ),
    Change(
        "sns_envelope",
        "moto.sns.models",
        "SNS -> SQS envelopes without a per-delivery RSA signature (a placeholder digest instead)",
        "",
        sns_envelope.ROWS,
    ),
    Change(
        "sns_to_lambda",
        "moto.sns.models",
        "a Lambda subscription gets the message as an SNS event record (run by labkit's functions)",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-lambda-as-subscriber.html",
        sns_to_lambda.ROWS,
    ),
    Change(
        "sns_validation",
        "moto.sns.models",
        (
            "a topic name where an ARN belongs and a FilterPolicy that is not JSON are refused "
            "with InvalidParameter, and a refused Subscribe creates no subscription"
        ),
        "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html",
        sns_validation.ROWS,
    ),
    Change(
        "sns_delivery_policies",
        "moto.sns.models",
        (
            "SNS delivers to a queue or function only when its policy lets the topic in; a "
            "refused delivery, or one to a queue that is gone, is not made (and not retried)"
        ),
        "https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html",
        delivery_policies.SNS_ROWS,
    ),
    Change(
        "sns_metrics",
        "moto.sns.models",
        "topics count what they publish in CloudWatch (NumberOfMessagesPublished)",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html",
        delivery_metrics.SNS_ROWS,
    ),
    # EventBridge: send_to_targets is wrapped twice (targets, then the rule its transformers
    # read); put_rule twice (schedules, then limits)
    Change(
        "events_patterns",
        "moto.events.models",
        "EventBridge accepts, rejects and matches event patterns as its user guide documents",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html",
        filters_and_patterns.EVENT_PATTERN_ROWS,
    ),
    Change(
        "events_targets",
        "moto.events.models",
        "rules deliver to SNS, Lambda and Step Functions targets; a disabled rule matches nothing",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html",
        events_targets.ROWS,
    ),
    Change(
        "events_input_transformer",
        "moto.events.models",
        (
            "input transformers fill placeholders as the EventBridge user guide shows (JSON "
            "outside quotes, text inside), and a target that cannot take an event never fails "
            "PutEvents"
        ),
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html",
        events_input_transformer.ROWS,
    ),
    Change(
        "events_schedules",
        "moto.events.models",
        "scheduled rules fire at the times their rate or cron expression names, on the lab's clock",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html",
        events_schedules.ROWS,
    ),
    Change(
        "events_validation",
        "moto.events.models",
        (
            "PutEvents refuses entries over 1 MB in all, PutRule a pattern over 4,096 characters "
            "and a 31st rule with wildcards on a bus"
        ),
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html",
        events_validation.ROWS,
    ),
    Change(
        "events_delivery_policies",
        "moto.events.models",
        (
            "a rule delivers to a queue, topic or function only when its policy lets the rule "
            "in; a refused delivery is not made (and not retried)"
        ),
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html",
        delivery_policies.EVENTS_ROWS,
    ),
    # Lambda, Step Functions, DynamoDB
    Change(
        "lambda_no_docker",
        "moto.awslambda.models",
        "an SQS or DynamoDB stream event source mapping is polled by the lab's function runtime, "
        "not run in Docker",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html",
        lambda_no_docker.rows,
    ),
    Change(
        "lambda_esm_validation",
        "moto.awslambda.models",
        (
            "an SQS event source mapping whose function timeout is longer than the queue's "
            "visibility timeout, or whose MaximumConcurrency is above 1,000, is refused with "
            "InvalidParameterValueException"
        ),
        "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
        lambda_esm_validation.rows,
    ),
    Change(
        "sfn_waits",
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
        "a Wait state pauses the execution for its seconds of the lab's clock",
        "https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html",
        sfn_lab_time.ROWS,
    ),
    Change(
        "sfn_retry_intervals",
        "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl",
        (
            "a retrier waits IntervalSeconds, times BackoffRate per retry, capped by "
            "MaxDelaySeconds, on the lab's clock"
        ),
        "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html",
        sfn_lab_time.RETRY_ROWS,
    ),
    Change(
        "sfn_retry_jitter",
        "moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl",
        (
            "JitterStrategy FULL waits a random share, between 0 and the interval, drawn the "
            "same way each time a run is repeated"
        ),
        "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html",
        sfn_lab_time.JITTER_ROWS,
    ),
    Change(
        "sfn_task_timeouts",
        "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
        (
            "a Task state's TimeoutSeconds and a callback task's HeartbeatSeconds run out on the "
            "lab's clock, failing the state with States.Timeout or States.HeartbeatTimeout"
        ),
        "https://docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html",
        sfn_task_timeouts.ROWS,
    ),
    Change(
        "sfn_errors",
        "moto.stepfunctions.parser.models",
        (
            "Step Functions errors answer with their code, and an execution started without a "
            "name is named with a unique id"
        ),
        "https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html",
        sfn_errors.rows,
    ),
    Change(
        "sfn_definitions",
        "moto.stepfunctions.parser.models",
        (
            "a definition whose StartAt, Next, Default or Catch names no state, that leaves a "
            "state unreachable or that never ends is refused with InvalidDefinition"
        ),
        "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html",
        sfn_definitions.ROWS,
    ),
    Change(
        "sfn_quiet_lexer",
        "moto.stepfunctions.parser.asl.parse.asl_parser",
        "a definition's syntax errors are not printed on stderr besides the error answered",
        "",
        sfn_quiet_lexer.ROWS,
    ),
    Change(
        "ddb_atomic",
        "moto.dynamodb.models",
        (
            "each DynamoDB write is atomic: a condition is checked against the item as the write "
            "happens"
        ),
        (
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
            "Expressions.ConditionExpressions.html"
        ),
        ddb_atomic.ROWS,
    ),
    Change(
        "ddb_stream_rollback",
        "moto.dynamodb.models",
        (
            "a cancelled TransactWriteItems changes nothing, and the table's stream readers read "
            "on from where they were"
        ),
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html",
        ddb_stream_rollback.ROWS,
    ),
    Change(
        "cloudwatch_service_metrics",
        "moto.cloudwatch.models",
        (
            "CloudWatch holds the metrics SNS, EventBridge and SQS publish (deliveries, failures, "
            "filtered-out notifications, invocations, dead-lettered events, queue depth and age)"
        ),
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html",
        delivery_metrics.ROWS,
    ),
)

#: The registry labs and the labkit server hold.
REGISTRY = Registry(CHANGES)
