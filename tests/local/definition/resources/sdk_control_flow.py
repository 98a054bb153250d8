"""A pipeline with control flow built with the SageMaker Python SDK 2.257.7, for the test that
the local engine reads what the SDK writes. Run by the SDK's own virtual environment, never by
sagepipe's (see ``tests/sagemaker/sdk_env.py``):

    python sdk_control_flow.py OUT.json

Processing with a property file, training with a retry policy, a condition on the property
file with a nested condition (Or, Not, In, Equals), model, registration, transform, a fail
step with a joined message, DependsOn, a cache setting, and every parameter type. Code and
data are ``s3://`` URIs, so the SDK uploads nothing.
"""

from __future__ import annotations

import sys

import boto3
import sagemaker.telemetry.telemetry_logging as telemetry
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import Model
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.transformer import Transformer
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import (
    ConditionEquals,
    ConditionGreaterThanOrEqualTo,
    ConditionIn,
    ConditionNot,
    ConditionOr,
)
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import (
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.retry import SageMakerJobExceptionTypeEnum, SageMakerJobStepRetryPolicy
from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TransformStep

telemetry._send_telemetry_request = lambda *args, **kwargs: None

BUCKET = "sagepipe-test-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"


def build() -> Pipeline:
    session = PipelineSession(
        boto_session=boto3.Session(region_name="us-east-1"), default_bucket=BUCKET
    )
    input_data = ParameterString("InputData", default_value=f"s3://{BUCKET}/raw")
    count = ParameterInteger("ProcessingInstanceCount", default_value=1)
    epochs = ParameterInteger("Epochs", default_value=10)
    threshold = ParameterFloat("AccuracyThreshold", default_value=0.7)
    run_batch = ParameterBoolean("RunBatch", default_value=False)
    approval = ParameterString(
        "ModelApprovalStatus",
        default_value="PendingManualApproval",
        enum_values=["PendingManualApproval", "Approved"],
    )
    processor = ScriptProcessor(
        image_uri=IMAGE,
        command=["python3"],
        role=ROLE,
        instance_count=count,
        instance_type="ml.m5.xlarge",
        sagemaker_session=session,
    )
    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor.run(
            code=f"s3://{BUCKET}/code/preprocess.py",
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                ProcessingOutput(output_name="test", source="/opt/ml/processing/test"),
            ],
        ),
        cache_config=CacheConfig(enable_caching=True, expire_after="P30D"),
    )
    estimator = Estimator(
        image_uri=IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/models",
        hyperparameters={"epochs": epochs},
        metric_definitions=[{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
        sagemaker_session=session,
    )
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    train = TrainingStep(
        name="Train",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(outputs["train"].S3Output.S3Uri, content_type="text/csv")
            }
        ),
        retry_policies=[
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], max_attempts=3
            )
        ],
    )
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        name="Evaluate",
        step_args=processor.run(
            code=f"s3://{BUCKET}/code/evaluate.py",
            inputs=[
                ProcessingInput(source=model_data, destination="/opt/ml/processing/model"),
                ProcessingInput(
                    source=outputs["test"].S3Output.S3Uri, destination="/opt/ml/processing/test"
                ),
            ],
            outputs=[
                ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")
            ],
        ),
        property_files=[report],
    )
    model = Model(image_uri=IMAGE, model_data=model_data, role=ROLE, sagemaker_session=session)
    create_model = ModelStep(
        name="CreateModel", step_args=model.create(instance_type="ml.m5.large")
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name="sdk-models",
            approval_status=approval,
        ),
    )
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/scores",
        assemble_with="Line",
        accept="application/jsonlines",
        sagemaker_session=session,
    )
    batch = TransformStep(
        name="BatchScore",
        step_args=transformer.transform(
            data=f"s3://{BUCKET}/batch",
            content_type="application/jsonlines",
            split_type="Line",
        ),
    )
    check_batch = ConditionStep(
        name="CheckBatch",
        conditions=[
            ConditionOr(
                conditions=[
                    ConditionEquals(left=run_batch, right=True),
                    ConditionNot(
                        expression=ConditionIn(
                            value=ExecutionVariables.PIPELINE_NAME, in_values=["dev", "test"]
                        )
                    ),
                ]
            )
        ],
        if_steps=[batch],
        else_steps=[],
    )
    fail = FailStep(
        name="AccuracyTooLow", error_message=Join(on=" ", values=["accuracy below", threshold])
    )
    check = ConditionStep(
        name="CheckAccuracy",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name=evaluate.name,
                    property_file=report,
                    json_path="metrics.accuracy.value",
                ),
                right=threshold,
            )
        ],
        if_steps=[register, create_model, check_batch],
        else_steps=[fail],
    )
    final_report = ProcessingStep(
        name="Report",
        step_args=processor.run(code=f"s3://{BUCKET}/code/report.py"),
        depends_on=[train],
    )
    return Pipeline(
        name="sdk-control-flow",
        parameters=[input_data, count, epochs, threshold, run_batch, approval],
        steps=[preprocess, train, evaluate, check, final_report],
        sagemaker_session=session,
    )


def main() -> None:
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        handle.write(build().definition())


if __name__ == "__main__":
    main()
