"""Every change labkit makes to moto, in one registry, applied only while a lab runs.

Each change (a module here, or two for the filter policies and event patterns) says what it
replaces in moto, the AWS behaviour it follows with the documentation page, and the moto version
it was written for (see `labkit.moto_patches.registry`). The first lab to start holds the
registry, the last to stop lets go and moto is stock again; ``python -m labkit.server`` holds it
for its lifetime. A change applies when its moto module is first imported, in the order below:
where two changes wrap the same method, the later one wraps the earlier.

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
    events_input_transformer,
    events_schedules,
    events_targets,
    events_validation,
    filters_and_patterns,
    lambda_no_docker,
    lazy_batch,
    moto_botocore_data,
    server_module_list,
    sfn_definitions,
    sfn_errors,
    sfn_quiet_lexer,
    sfn_wait_monotonic,
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

#: Every change, in the order it is applied.
CHANGES: tuple[Change, ...] = (
    lazy_batch.CHANGE,
    moto_botocore_data.CHANGE,
    server_module_list.CHANGE,
    # SQS: receive_message is wrapped three times, innermost first
    sqs_fifo_groups.CHANGE,
    sqs_long_poll.CHANGE,
    sqs_message_moves.CHANGE,
    sqs_fastpath.CHANGE,
    sqs_dedup_window.CHANGE,
    sqs_receipt_handles.CHANGE,
    sqs_zero_visibility.CHANGE,
    sqs_validation.CHANGE,
    # SNS
    filters_and_patterns.SNS_FILTER_POLICIES,
    sns_envelope.CHANGE,
    sns_to_lambda.CHANGE,
    sns_validation.CHANGE,
    # EventBridge: send_to_targets is wrapped twice (targets, then the rule its transformers
    # read); put_rule twice (schedules, then limits)
    filters_and_patterns.EVENT_PATTERNS,
    events_targets.CHANGE,
    events_input_transformer.CHANGE,
    events_schedules.CHANGE,
    events_validation.CHANGE,
    # Lambda, Step Functions, DynamoDB
    lambda_no_docker.CHANGE,
    sfn_wait_monotonic.CHANGE,
    sfn_errors.CHANGE,
    sfn_definitions.CHANGE,
    sfn_quiet_lexer.CHANGE,
    ddb_atomic.CHANGE,
)

#: The registry labs and the labkit server hold.
REGISTRY = Registry(CHANGES)
