"""Which host names are AWS: every domain family botocore's endpoint data knows."""

from __future__ import annotations

import functools
import re

from labkit.loader import shared_loader

__all__ = ["EXTRA_AWS_DOMAINS", "aws_domains", "is_aws_host"]

#: AWS domain families that botocore's endpoint rules name besides the partitions' DNS suffixes
#: (``tests/test_safety.py`` checks every URL in botocore's data against them), and ``aws.dev``.
EXTRA_AWS_DOMAINS = (
    "on.aws",  # Lambda function URLs (<url-id>.lambda-url.<region>.on.aws), Neptune Analytics
    "signin.aws",
    "aws.amazon.com",
    "amazonaws.cn",
    "amazonaws-us-gov.com",
    "amazonaws-eusc.eu",
    # sign-in in the isolated partitions
    "c2shome.ic.gov",
    "sc2shome.sgov.gov",
    "csphome.hci.ic.gov",
    "csphome.adc-e.uk",
    "aws.dev",
)


@functools.cache
def aws_domains() -> tuple[str, ...]:
    """Every AWS domain family: each partition's DNS suffixes (read from botocore's data, so a
    new partition is covered when botocore ships it), then :data:`EXTRA_AWS_DOMAINS`.

    >>> {"amazonaws.com", "amazonaws.com.cn", "api.aws", "on.aws"} <= set(aws_domains())
    True
    """
    partitions = shared_loader().load_data("partitions")["partitions"]
    suffixes = [
        partition["outputs"][key]
        for partition in partitions
        for key in ("dnsSuffix", "dualStackDnsSuffix")
        if key in partition["outputs"]
    ]
    return tuple(dict.fromkeys([*suffixes, *EXTRA_AWS_DOMAINS]))


@functools.cache
def _pattern() -> re.Pattern[str]:
    families = "|".join(re.escape(domain) for domain in aws_domains())
    return re.compile(rf"(^|\.)({families})\.?$", re.IGNORECASE)


def is_aws_host(name: str) -> bool:
    """True for a host name in one of AWS's domain families.

    >>> is_aws_host("sqs.us-east-1.amazonaws.com"), is_aws_host("abc.lambda-url.eu-west-1.on.aws")
    (True, True)
    >>> is_aws_host("localhost"), is_aws_host("notamazonaws.com")
    (False, False)
    """
    return bool(_pattern().search(name))
