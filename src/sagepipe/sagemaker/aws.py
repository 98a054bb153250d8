"""boto3 sessions and clients with the user's usual credentials, and readable AWS errors.

Credentials come from boto3's usual chain (environment, ``~/.aws``, SSO, instance roles);
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``/``_SAGEMAKER``) points the clients at another
endpoint, as boto3 itself supports. Nothing is imported from boto3 until a client is needed.
"""

from __future__ import annotations

from typing import Any

from sagepipe.sagemaker.errors import AwsError, CredentialsError


def session(region: str) -> Any:
    """A boto3 session for ``region`` that has credentials.

    Raises:
        CredentialsError: boto3 finds no credentials.
    """
    import boto3
    import botocore.exceptions

    try:
        created = boto3.Session(region_name=region)
        credentials = created.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"cannot set up AWS: {exc}") from None
    if credentials is None:
        raise CredentialsError()
    return created


def client(service: str, region: str) -> Any:
    """A boto3 client of ``service`` in ``region`` (see :func:`session`)."""
    return session(region).client(service)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for other errors)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def call(what: str, function: Any, **kwargs: Any) -> Any:
    """Call a boto3 client method; AWS failures become one :class:`AwsError` naming
    ``what`` was being done."""
    import botocore.exceptions

    try:
        return function(**kwargs)
    except botocore.exceptions.NoCredentialsError:
        raise CredentialsError() from None
    except botocore.exceptions.ClientError as exc:
        raise AwsError(f"{what} failed: {error_code(exc)}: {error_message(exc)}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"{what} failed: {exc}") from exc
