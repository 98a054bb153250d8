"""ARNs shaped like SageMaker's for model packages and model package groups.

``arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`` and
``arn:aws:sagemaker:<region>:<account>:model-package-group/<group>``. SageMaker writes the
group name in lower case in ARNs; so do we. The account is ``$SAGEPIPE_ACCOUNT_ID``, else
``000000000000`` (a local registry belongs to no AWS account).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sagepipe.registry.errors import InvalidArnError

ACCOUNT_ENV = "SAGEPIPE_ACCOUNT_ID"
LOCAL_ACCOUNT = "000000000000"
_PACKAGE = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9]\d*)$"
)


def account_id() -> str:
    """The account of local ARNs: ``$SAGEPIPE_ACCOUNT_ID`` (12 digits), else all zeros.

    Raises:
        InvalidArnError: the variable is set but is not 12 digits.
    """
    value = os.environ.get(ACCOUNT_ENV, "").strip()
    if not value:
        return LOCAL_ACCOUNT
    if not re.fullmatch(r"\d{12}", value):
        raise InvalidArnError(f"{ACCOUNT_ENV}={value!r} is not a 12-digit AWS account id")
    return value


def group_arn(region: str, group: str, account: str | None = None) -> str:
    """The ARN of a model package group."""
    return (
        f"arn:aws:sagemaker:{region}:{account or account_id()}:model-package-group/{group.lower()}"
    )


def package_arn(region: str, group: str, version: int, account: str | None = None) -> str:
    """The ARN of version ``version`` of a model package group."""
    owner = account or account_id()
    return f"arn:aws:sagemaker:{region}:{owner}:model-package/{group.lower()}/{version}"


@dataclass(frozen=True)
class PackageArn:
    """The parts of a model package ARN."""

    region: str
    account: str
    group: str
    version: int


def parse_package_arn(arn: str) -> PackageArn:
    """Split a model package ARN into region, account, group and version.

    Raises:
        InvalidArnError: ``arn`` is not shaped like one.
    """
    match = _PACKAGE.match(arn.strip())
    if match is None:
        raise InvalidArnError(
            f"{arn!r} is not a model package ARN; expected "
            "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION "
            "(list them with: sagepipe registry versions GROUP)"
        )
    return PackageArn(
        region=match["region"],
        account=match["account"],
        group=match["group"],
        version=int(match["version"]),
    )
