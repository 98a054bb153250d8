"""``get_execution_role``: the IAM role SageMaker jobs and endpoints run as.

The SageMaker SDK's ``get_execution_role()`` returns the notebook's role on SageMaker and the
caller's role elsewhere (an error when the caller is not a role). sagepipe answers, in order:

1. ``$SAGEPIPE_EXECUTION_ROLE``, when set (it must be an IAM role ARN);
2. with AWS credentials (boto3's usual chain): the caller identity of STS
   ``GetCallerIdentity``, an assumed role turned into its role ARN as the SDK does (IAM
   ``GetRole`` gives the role's path; where that is denied, a console-made
   ``AmazonSageMaker-ExecutionRole-*`` is taken to be under ``service-role/``); a user (not a
   role) is an error naming the fix;
3. without credentials or without boto3 (offline, local runs only):
   :data:`LOCAL_EXECUTION_ROLE`, a role ARN of the local account :data:`LOCAL_ACCOUNT_ID`,
   accepted by every local run and refused by AWS.

Unlike the SDK, a SageMaker notebook instance's or Studio's metadata file is not read: there,
the caller's assumed role is the notebook's role, which step 2 finds.
"""

from __future__ import annotations

import os
import re
from typing import Any

from sagepipe.errors import SagepipeError

#: The account local endpoints and roles report (SageMaker's error messages name one).
LOCAL_ACCOUNT_ID = "000000000000"
#: The role ``get_execution_role`` returns without AWS credentials.
LOCAL_EXECUTION_ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/SagepipeLocalExecutionRole"
#: The environment variable that names the execution role explicitly.
ROLE_ENV = "SAGEPIPE_EXECUTION_ROLE"

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$")


# The prefix of the execution roles the SageMaker console creates, under /service-role/.
_CONSOLE_ROLE_PREFIX = "AmazonSageMaker-ExecutionRole"


class ExecutionRoleError(SagepipeError):
    """No execution role can be determined (the message says how to set one)."""


def get_execution_role(sagemaker_session: Any = None, use_default: bool = False) -> str:
    """The IAM role ARN to run SageMaker jobs and endpoints as (see the module docstring).

    Args:
        sagemaker_session: A ``boto3.Session``, or a session object with a ``boto_session``
            (the SageMaker SDK's), to ask STS and IAM with (default: a new one).
        use_default: Accepted for the SDK's signature; sagepipe never creates a role.

    Returns:
        An IAM role ARN.

    Raises:
        ExecutionRoleError: ``$SAGEPIPE_EXECUTION_ROLE`` is not a role ARN, STS failed, or
            the caller is not a role.
    """
    del use_default  # the SDK would create AmazonSageMaker-DefaultRole; we never create roles
    explicit = os.environ.get(ROLE_ENV)
    if explicit:
        if not _ROLE_ARN.match(explicit):
            raise ExecutionRoleError(
                f"{ROLE_ENV}={explicit!r} is not an IAM role ARN; set it to "
                "arn:aws:iam::ACCOUNT:role/NAME"
            )
        return explicit
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ModuleNotFoundError:
        return LOCAL_EXECUTION_ROLE  # no AWS SDK: local runs only
    try:
        # A SageMaker SDK Session carries its boto3 session; a boto3 Session is used as it is.
        session = getattr(sagemaker_session, "boto_session", sagemaker_session)
        session = session or boto3.Session()
        if session.get_credentials() is None:
            return LOCAL_EXECUTION_ROLE
        arn = str(session.client("sts").get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as exc:
        raise ExecutionRoleError(
            f"cannot ask STS who the caller is ({exc}); set {ROLE_ENV}=arn:aws:iam::ACCOUNT:"
            "role/NAME to name the execution role"
        ) from None
    role = role_from_caller_arn(arn)
    if _ASSUMED_ROLE.match(arn) is None:
        return role
    # The session ARN drops the role's path (service-role/ ...), which PassRole needs.
    name = role.rsplit("/", 1)[1]
    try:
        return str(session.client("iam").get_role(RoleName=name)["Role"]["Arn"])
    except (BotoCoreError, ClientError):
        if name.startswith(_CONSOLE_ROLE_PREFIX):
            return role.replace(":role/", ":role/service-role/", 1)
        return role


def role_from_caller_arn(arn: str) -> str:
    """The role ARN of a caller identity ARN (an assumed role's session becomes its role).

    Raises:
        ExecutionRoleError: the caller is not a role (an IAM user, the root account).
    """
    if _ROLE_ARN.match(arn):
        return arn
    assumed = _ASSUMED_ROLE.match(arn)
    if assumed is not None:
        partition, account, role = assumed.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    raise ExecutionRoleError(
        f"the current AWS identity is not a role: {arn}, therefore it cannot be used as a "
        f"SageMaker execution role; set {ROLE_ENV}=arn:aws:iam::ACCOUNT:role/NAME"
    )
