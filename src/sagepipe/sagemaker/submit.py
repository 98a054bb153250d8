"""Submit a compiled pipeline: upload, create or update (upsert), start.

The upsert is the SageMaker SDK's: CreatePipeline, and UpdatePipeline when the service says
the pipeline already exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sagepipe.errors import did_you_mean
from sagepipe.pipeline import Pipeline
from sagepipe.sagemaker.aws import call, error_code, error_message
from sagepipe.sagemaker.compiler import CompiledPipeline
from sagepipe.sagemaker.errors import AwsError, SubmitError
from sagepipe.sagemaker.upload import upload_all


@dataclass(frozen=True)
class Submission:
    """What :func:`submit` did: the pipeline's ARN, whether it was created or updated, and
    the execution started (if any)."""

    pipeline_arn: str
    created: bool
    execution_arn: str | None


def pipeline_role(pipeline: Pipeline, compiled: CompiledPipeline) -> str:
    """The role CreatePipeline runs the pipeline with: ``--role``, else the one role the
    configs agree on.

    Raises:
        SubmitError: There is none, or the configs name several.
    """
    if compiled.target.role:
        return compiled.target.role
    roles = sorted({r for s in pipeline.steps if isinstance(r := s.config.get("role"), str)})
    if len(roles) == 1:
        return roles[0]
    if not roles:
        raise SubmitError(
            "submit needs an IAM role for the pipeline: pass --role ARN (e.g. "
            "arn:aws:iam::123456789012:role/SageMakerRole) or set role in the configs"
        )
    raise SubmitError(
        f"the configs name several roles ({', '.join(roles)}); pass --role ARN to choose the "
        "pipeline's role"
    )


def execution_parameters(pipeline: Pipeline, raw: Mapping[str, str]) -> list[dict[str, str]]:
    """``--param NAME=VALUE`` values, checked against the declared parameters and their
    types, as StartPipelineExecution's ``PipelineParameters``."""
    declared = {p.name: p for p in pipeline.parameters}
    result: list[dict[str, str]] = []
    for name, value in sorted(raw.items()):
        parameter = declared.get(name)
        if parameter is None:
            raise SubmitError(
                f"--param {name}: the pipeline has no parameter {name!r}"
                f"{did_you_mean(name, declared)}; it has: {', '.join(sorted(declared)) or 'none'}"
            )
        typed = parameter.coerce(value)
        text = str(typed).lower() if isinstance(typed, bool) else str(typed)
        result.append({"Name": name, "Value": text})
    return result


def submit(
    sagemaker: Any,
    s3: Any,
    pipeline: Pipeline,
    compiled: CompiledPipeline,
    start: bool = False,
    parameters: Mapping[str, str] | None = None,
    report: Callable[[str], None] = print,
) -> Submission:
    """Upload the code and inputs, upsert the pipeline and optionally start it.

    Args:
        sagemaker: A boto3 SageMaker client.
        s3: A boto3 S3 client.
        pipeline: The IR (for the role and the parameters).
        compiled: Its compiled form.
        start: Start an execution after the upsert.
        parameters: Execution parameters (``--param``), by name, as text.
        report: Where progress lines go.
    """
    role = pipeline_role(pipeline, compiled)
    execution_parameters_ = execution_parameters(pipeline, parameters or {})
    upload_all(s3, compiled.uploads, report)
    name = compiled.target.pipeline_name
    definition = compiled.compact_json()
    created = True
    try:
        response = _create(sagemaker, name, definition, role)
    except AwsError as exc:
        cause = exc.__cause__
        if cause is None or not (
            error_code(cause) == "ValidationException" and "already exists" in error_message(cause)
        ):
            raise
        created = False
        response = call(
            f"updating pipeline {name}",
            sagemaker.update_pipeline,
            PipelineName=name,
            PipelineDefinition=definition,
            RoleArn=role,
        )
    arn = str(response["PipelineArn"])
    report(f"{'created' if created else 'updated'} pipeline {arn}")
    execution_arn: str | None = None
    if start:
        request: dict[str, Any] = {"PipelineName": name, "ClientRequestToken": uuid.uuid4().hex}
        if execution_parameters_:
            request["PipelineParameters"] = execution_parameters_
        started = call(f"starting pipeline {name}", sagemaker.start_pipeline_execution, **request)
        execution_arn = str(started["PipelineExecutionArn"])
        report(f"started execution {execution_arn}")
    return Submission(arn, created, execution_arn)


def _create(sagemaker: Any, name: str, definition: str, role: str) -> Any:
    return call(
        f"creating pipeline {name}",
        sagemaker.create_pipeline,
        PipelineName=name,
        PipelineDefinition=definition,
        RoleArn=role,
        ClientRequestToken=uuid.uuid4().hex,
    )
