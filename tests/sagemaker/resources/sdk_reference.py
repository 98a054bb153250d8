"""The example pipeline built with the SageMaker Python SDK 2.257.7 (the differential test's
reference). Run by the SDK's own virtual environment, never by sagepipe's:

    python sdk_reference.py SPEC.json OUT.json [five]

SPEC.json holds the user's inputs (the same values ``pipelines.full_pipeline`` configures) and
the content-addressed code URIs sagepipe chose, so that the SDK uploads nothing. The SDK's
definition is written to OUT.json (``five``: only preprocess, train, model, transform and
endpoint, the benchmark's five-step example); the time spent importing the SDK and building the
definition is written to OUT.json's ``timing`` sibling file (for the benchmark).
"""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()

import boto3  # noqa: E402

import sagemaker.telemetry.telemetry_logging as telemetry  # noqa: E402
from sagemaker import image_uris  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.model import Model  # noqa: E402
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor  # noqa: E402
from sagemaker.pytorch import PyTorch  # noqa: E402
from sagemaker.transformer import Transformer  # noqa: E402
from sagemaker.workflow.endpoint_step import EndpointConfigStep, EndpointStep  # noqa: E402
from sagemaker.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.workflow.functions import Join  # noqa: E402
from sagemaker.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.workflow.parameters import (  # noqa: E402
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TransformStep  # noqa: E402

imported = time.perf_counter()

# No telemetry from a test. (The SDK's opt-out setting lives in a config file that the SDK
# re-validates against its JSON schema on every lookup, which would slow it 10-fold.)
telemetry._send_telemetry_request = lambda *args, **kwargs: None


def build(spec: dict, five: bool = False) -> Pipeline:  # type: ignore[type-arg]
    region, role = spec["region"], spec["role"]
    session = PipelineSession(
        boto_session=boto3.Session(region_name=region), default_bucket=spec["bucket"]
    )
    input_data = ParameterString("InputData", spec["input_data"])
    train_instance = ParameterString("TrainInstanceType", "ml.m5.xlarge")
    learning_rate = ParameterFloat("LearningRate", 0.01)
    train_count = ParameterInteger("TrainInstanceCount", 1)
    cache = CacheConfig(enable_caching=True)

    def image(scope: str, instance: str) -> str:
        return image_uris.retrieve(
            "pytorch",
            region=region,
            version=spec["framework_version"],
            py_version=spec["py_version"],
            instance_type=instance,
            image_scope=scope,
        )

    def script_step(name: str, code: str, instance: str, inputs: list, outputs: list, **kw):  # type: ignore[no-untyped-def, type-arg]
        processor = ScriptProcessor(
            command=["python3"],
            image_uri=image("training", instance),
            role=role,
            instance_type=instance,
            instance_count=1,
            volume_size_in_gb=30,
            max_runtime_in_seconds=86400,
            sagemaker_session=session,
            env=kw.pop("env", None),
        )
        step_args = processor.run(code=code, inputs=inputs, outputs=outputs, **kw)
        return ProcessingStep(name=name, step_args=step_args, cache_config=cache)

    preprocess = script_step(
        "preprocess",
        spec["code"]["preprocess"],
        "ml.m5.xlarge",
        [
            ProcessingInput(
                source=input_data,
                destination="/opt/ml/processing/input/raw_data",
                input_name="raw_data",
            )
        ],
        [
            ProcessingOutput(
                output_name="processed_data", source="/opt/ml/processing/output/processed_data"
            )
        ],
        arguments=["--split", "0.8"],
        env={"LOG_LEVEL": "INFO"},
    )
    processed = preprocess.properties.ProcessingOutputConfig.Outputs["processed_data"]
    hyperparameters = dict(spec["hyperparameters"], learning_rate=learning_rate)
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=spec["code"]["train"],
        role=role,
        instance_type=train_instance,
        instance_count=train_count,
        volume_size=30,
        max_run=86400,
        framework_version=spec["framework_version"],
        py_version=spec["py_version"],
        hyperparameters=hyperparameters,
        metric_definitions=spec["metric_definitions"],
        output_path=spec["training_output_path"],
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="train",
        step_args=estimator.fit(inputs={"data": TrainingInput(s3_data=processed.S3Output.S3Uri)}),
    )
    model = Model(
        image_uri=image("inference", "ml.m5.large"),
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=role,
        env=spec["container_environment"],
        sagemaker_session=session,
    )
    model_step = ModelStep(name="model", step_args=model.create(instance_type="ml.m5.large"))
    if five:
        return Pipeline(
            name="example",
            parameters=[input_data, learning_rate, train_count, train_instance],
            steps=[preprocess, train, model_step, *_serving(session, model_step, processed)],
            sagemaker_session=session,
        )
    model_input = "/opt/ml/processing/input/model"
    packaging = script_step(
        "packaging",
        spec["code"]["packaging"],
        "ml.m5.large",
        [
            ProcessingInput(
                source=model_step.properties.PrimaryContainer.ModelDataUrl,
                destination=model_input,
                input_name="model_input",
            )
        ],
        [
            ProcessingOutput(
                output_name="packaged_model", source="/opt/ml/processing/output/packaged_model"
            )
        ],
    )
    packaged = packaging.properties.ProcessingOutputConfig.Outputs["packaged_model"]
    payload = script_step(
        "payload",
        spec["code"]["payload"],
        "ml.m5.large",
        [
            ProcessingInput(
                source=packaged.S3Output.S3Uri, destination=model_input, input_name="model_input"
            )
        ],
        [
            ProcessingOutput(
                output_name="payload_sample", source="/opt/ml/processing/output/payload_sample"
            )
        ],
    )
    samples = payload.properties.ProcessingOutputConfig.Outputs["payload_sample"]
    registered = Model(
        image_uri=image("inference", "ml.m5.large"),
        model_data=Join(on="/", values=[packaged.S3Output.S3Uri, "model.tar.gz"]),
        role=role,
        env=spec["package_environment"],
        sagemaker_session=session,
    )
    registration = ModelStep(
        name="registration",
        step_args=registered.register(
            content_types=["text/csv", "application/json"],
            response_types=["application/json"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name="example-models",
            approval_status="PendingManualApproval",
            customer_metadata_properties={"team": "ml"},
            domain="MACHINE_LEARNING",
            task="CLASSIFICATION",
            framework="PYTORCH",
            framework_version=spec["framework_version"],
            sample_payload_url=Join(on="/", values=[samples.S3Output.S3Uri, "payload.tar.gz"]),
            description="Example classifier",
        ),
    )
    return Pipeline(
        name="example",
        parameters=[input_data, learning_rate, train_count, train_instance],
        steps=[
            preprocess,
            train,
            model_step,
            packaging,
            payload,
            registration,
            *_serving(session, model_step, processed),
        ],
        sagemaker_session=session,
    )


def _serving(session, model_step, processed):  # type: ignore[no-untyped-def]
    """The batch transform and the endpoint (configuration and endpoint steps)."""
    cache = CacheConfig(enable_caching=True)
    transformer = Transformer(
        model_name=model_step.properties.ModelName,
        instance_type="ml.m5.large",
        instance_count=1,
        accept="text/csv",
        assemble_with="Line",
        strategy="MultiRecord",
        max_payload=6,
        max_concurrent_transforms=1,
        sagemaker_session=session,
    )
    transform = TransformStep(
        name="transform",
        step_args=transformer.transform(
            data=processed.S3Output.S3Uri,
            content_type="text/csv",
            split_type="Line",
            join_source="Input",
        ),
        cache_config=cache,
    )
    config_step = EndpointConfigStep(
        name="endpoint-Config",
        step_args=session.create_endpoint_config(
            name=Join(
                on="-", values=["example-endpoint", ExecutionVariables.PIPELINE_EXECUTION_ID]
            ),
            model_name=model_step.properties.ModelName,
            initial_instance_count=1,
            instance_type="ml.m5.large",
        ),
    )
    endpoint = EndpointStep(
        name="endpoint",
        step_args=session.create_endpoint(
            endpoint_name="example-endpoint", config_name=config_step.properties.EndpointConfigName
        ),
    )
    return [transform, config_step, endpoint]


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as handle:
        spec = json.load(handle)
    definition = build(spec, five=sys.argv[3:] == ["five"]).definition()
    finished = time.perf_counter()
    with open(out_path, "w") as handle:
        handle.write(definition)
    with open(out_path + ".timing", "w") as handle:
        json.dump({"import_s": imported - started, "definition_s": finished - imported}, handle)


if __name__ == "__main__":
    main()
