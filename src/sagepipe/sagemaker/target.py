"""Where a pipeline goes: region, bucket, key prefix and role, from options and configs.

Command-line options win; otherwise the step configs' shared fields are used and must agree
(a SageMaker pipeline lives in one region and writes under one bucket and prefix). With no
bucket anywhere, the SageMaker default bucket ``sagemaker-<region>-<account>`` is used, the
account being read from the role ARN, as the SageMaker SDK does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sagepipe.pipeline import Pipeline, Step
from sagepipe.sagemaker.errors import CompileError

_ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z\-]*:iam::(\d{12}):role/")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class CompileOptions:
    """Overrides given on the command line (``--role``, ``--region``, ``--bucket``,
    ``--prefix``); ``None`` means "take it from the configs"."""

    role: str | None = None
    region: str | None = None
    bucket: str | None = None
    prefix: str | None = None


@dataclass(frozen=True)
class Target:
    """The resolved destination of a compiled pipeline.

    Attributes:
        pipeline_name: Name of the SageMaker pipeline.
        region: Its region.
        bucket: Bucket for code, local inputs and step outputs.
        prefix: Key prefix under the bucket (no leading or trailing slash).
        role: Role given with ``--role``, if any; it overrides every step's role.
    """

    pipeline_name: str
    region: str
    bucket: str
    prefix: str
    role: str | None

    def uri(self, *parts: str) -> str:
        """``s3://<bucket>/<prefix>/<parts...>``."""
        keys = [p.strip("/") for p in (self.prefix, *parts) if p.strip("/")]
        return "s3://" + "/".join([self.bucket, *keys])


def resolve_target(pipeline: Pipeline, options: CompileOptions) -> Target:
    """The target of ``pipeline``: options first, then the configs' agreed values.

    Raises:
        CompileError: Configs disagree on a value that must be single, or a value is invalid.
    """
    steps = pipeline.steps
    region = options.region or _agreed(pipeline, steps, "region", "--region") or "us-east-1"
    if not _REGION.match(region):
        raise CompileError(f"region {region!r} is not an AWS region such as us-east-1")
    role = options.role
    if role is not None and _ROLE_ACCOUNT.match(role) is None:
        raise CompileError(
            f"--role {role!r} is not an IAM role ARN such as "
            "arn:aws:iam::123456789012:role/SageMakerRole"
        )
    bucket = options.bucket or _agreed(pipeline, steps, "bucket", "--bucket")
    if bucket is None:
        bucket = _default_bucket(pipeline, region, role)
    if not _BUCKET.match(bucket):
        raise CompileError(f"bucket {bucket!r} is not a valid S3 bucket name")
    prefix = options.prefix
    if prefix is None:
        prefix = _agreed(pipeline, steps, "prefix", "--prefix") or pipeline.name
    return Target(pipeline.name, region, bucket, prefix.strip("/"), role)


def literal_config(step: Step, key: str) -> Any:
    """A config value that must be a literal (not a pipeline parameter)."""
    value = step.config.get(key)
    if isinstance(value, dict):
        raise CompileError(
            f"step {step.name!r}: config field {key!r} is bound to {value}; on SageMaker it "
            "must be a literal value"
        )
    return value


def _agreed(pipeline: Pipeline, steps: Iterable[Step], key: str, option: str) -> str | None:
    values: dict[str, list[str]] = {}
    for step in steps:
        if step.step_type == "RegistrationStep" and key == "region":
            continue  # a registration step's region is checked by its compiler
        value = literal_config(step, key)
        if value is not None:
            values.setdefault(str(value), []).append(step.name)
    if len(values) > 1:
        listed = "; ".join(f"{v} ({', '.join(names)})" for v, names in sorted(values.items()))
        raise CompileError(
            f"pipeline {pipeline.name!r}: steps use different {key} values: {listed}; a "
            f"SageMaker pipeline has one {key}: make them agree or pass {option}"
        )
    return next(iter(values), None)


def _default_bucket(pipeline: Pipeline, region: str, role: str | None) -> str:
    roles = (
        [role]
        if role
        else [r for s in pipeline.steps if isinstance(r := s.config.get("role"), str)]
    )
    for candidate in roles:
        match = _ROLE_ACCOUNT.match(candidate)
        if match:
            return f"sagemaker-{region}-{match.group(1)}"
    raise CompileError(
        f"pipeline {pipeline.name!r} has no bucket: pass --bucket, set bucket in the configs, "
        "or give a role (--role) so that the SageMaker default bucket "
        "sagemaker-<region>-<account> can be used"
    )
