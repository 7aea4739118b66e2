"""What a function stands on in AWS: the account, queue URLs and ARNs, and on moto a real
Lambda function (with the role it needs) whose ARN the function carries."""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import TYPE_CHECKING

from labkit.errors import LabError

if TYPE_CHECKING:
    from labkit.parts import Clients

__all__ = ["FUNCTION_ROLE", "Resources", "queue_arn"]

FUNCTION_ROLE = "labkit-function-role"
#: moto's fixed account
MOTO_ACCOUNT = "123456789012"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class Resources:
    """Looks up and creates what the runtime's functions need, with the lab's clients.

    ``moto``: moto answers, so the account is fixed and functions exist in its Lambda service.
    """

    def __init__(self, *, clients: Clients, moto: bool) -> None:
        self._clients = clients
        self._moto = moto
        self._account = ""
        self._role_arn = ""

    @property
    def region(self) -> str:
        return self._clients.region

    def account_id(self) -> str:
        if not self._account:
            if self._moto:
                self._account = MOTO_ACCOUNT
            else:
                self._account = self._clients.client("sts").get_caller_identity()["Account"]
        return self._account

    def queue_url(self, queue: str) -> str:
        """The URL of an existing queue given by URL or ARN."""
        if queue.startswith("arn:"):
            name = queue.rsplit(":", 1)[-1]
            owner = queue.split(":")[4]
            sqs = self._clients.client("sqs")
            try:
                answer = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)
            except sqs.exceptions.QueueDoesNotExist:
                pass
            else:
                return str(answer["QueueUrl"])
        elif queue.startswith(("http://", "https://")):
            return queue
        raise LabError(
            "an existing queue's URL or ARN",
            repr(queue),
            "create the queue first and pass create_queue(...)['QueueUrl'] or its QueueArn",
        )

    def queue_arn(self, url: str) -> str:
        """The ARN of the queue at `url`."""
        return queue_arn(url, self.region, self.account_id())

    def create_function(self, name: str, timeout: float = 3.0) -> str:
        """A real-looking ARN: on moto, a function really exists in its Lambda service, with
        its timeout in whole seconds (Lambda's 1 to 900), as GetFunctionConfiguration answers."""
        if not self._moto:
            return f"arn:aws:lambda:{self.region}:{self.account_id()}:function:{name}"
        lam = self._clients.client("lambda")
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass  # a first deploy: nothing to replace
        answer = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role(),
            Handler="index.handler",
            Code={"ZipFile": _STUB_ZIP},
            Description="handler run by labkit's local function runtime",
            Timeout=min(max(math.ceil(timeout), 1), 900),
        )
        return str(answer["FunctionArn"])

    def clear(self) -> None:
        """Forget the role (a reset lab has none)."""
        self._role_arn = ""

    def _role(self) -> str:
        if not self._role_arn:
            iam = self._clients.client("iam")
            try:
                self._role_arn = iam.get_role(RoleName=FUNCTION_ROLE)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                self._role_arn = iam.create_role(
                    RoleName=FUNCTION_ROLE, AssumeRolePolicyDocument=json.dumps(_TRUST)
                )["Role"]["Arn"]
        return self._role_arn


def queue_arn(url: str, region: str, account: str) -> str:
    """A queue's ARN from its URL (the owner is in the URL's path when it has one).

    >>> queue_arn("http://localhost/123456789012/orders", "us-east-1", "1")
    'arn:aws:sqs:us-east-1:123456789012:orders'
    """
    parts = url.rstrip("/").split("/")
    return f"arn:aws:sqs:{region}:{parts[-2] if len(parts) >= 2 else account}:{parts[-1]}"


def _stub_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("index.py", date_time=(2026, 1, 5, 9, 0, 0))
        archive.writestr(info, "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


#: the code moto keeps for each function (labkit runs the real handler itself)
_STUB_ZIP = _stub_zip()
