"""A PyTorch pipeline written with the SageMaker Python SDK 2.257.7, for the test that
``sagepipe run DEFINITION.json`` runs what the SDK writes. Run by the SDK's own virtual
environment, never by sagepipe's (see ``tests/sagemaker/sdk_env.py``):

    python sdk_pipeline.py OUT.json [REPACK_OUT.json MODEL_SOURCE_DIR]

Processing (a ScriptProcessor on the PyTorch training image, its code an ``s3://`` object)
-> Training (a PyTorch estimator, ``source_dir`` an ``s3://`` sourcedir.tar.gz, ``train`` and
``test`` channels from the processing outputs, the ``Epochs`` parameter as a hyperparameter)
-> a ModelStep creating a PyTorchModel whose code is inside model.tar.gz (``code/`` written by
train.py; no ``entry_point``, so the SDK adds no repack step and ``SAGEMAKER_PROGRAM`` selects
the script) -> a ModelStep registering it (approval status from the ``ApprovalStatus``
parameter) -> Transform over JSON lines, one record per line. The SDK uploads nothing: the
test copies the code and data to the URIs below with ``sagepipe s3 cp``.

REPACK_OUT.json gets the same pipeline with the PyTorchModel given ``entry_point`` and
MODEL_SOURCE_DIR as ``source_dir`` instead, as most SDK users write it: the SDK then adds a
``_RepackModelStep`` (a training job on the scikit-learn image) before each ModelStep and
uploads its code to the bucket.
"""

from __future__ import annotations

import sys
from typing import Any

import boto3
import sagemaker.telemetry.telemetry_logging as telemetry
from sagemaker.image_uris import retrieve as retrieve_image_uri
from sagemaker.inputs import TrainingInput
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.pytorch import PyTorch, PyTorchModel
from sagemaker.transformer import Transformer
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.steps import ProcessingStep, TrainingStep, TransformStep

telemetry._send_telemetry_request = lambda *args, **kwargs: None

BUCKET = "sdk-pytorch-bucket"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
FRAMEWORK_VERSION = "2.1.0"
PY_VERSION = "py310"
GROUP = "sdk-pytorch-models"
PROCESSING_CODE = f"s3://{BUCKET}/code/preprocess.py"
SOURCE_DIR = f"s3://{BUCKET}/code/sourcedir.tar.gz"
RAW_DATA = f"s3://{BUCKET}/raw"
BATCH_DATA = f"s3://{BUCKET}/batch"
SCORES = f"s3://{BUCKET}/scores"
MODELS = f"s3://{BUCKET}/models"


def build(model_source_dir: str | None = None) -> Pipeline:
    session = PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    input_data = ParameterString("InputData", default_value=RAW_DATA)
    epochs = ParameterInteger("Epochs", default_value=1)
    approval = ParameterString(
        "ApprovalStatus",
        default_value="PendingManualApproval",
        enum_values=["PendingManualApproval", "Approved", "Rejected"],
    )
    training_image = retrieve_image_uri(
        "pytorch",
        region=REGION,
        version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        instance_type="ml.m5.xlarge",
        image_scope="training",
    )
    processor = ScriptProcessor(
        image_uri=training_image,
        command=["python3"],
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        sagemaker_session=session,
    )
    preprocess = ProcessingStep(
        name="Preprocess",
        step_args=processor.run(
            code=PROCESSING_CODE,
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                ProcessingOutput(output_name="test", source="/opt/ml/processing/test"),
            ],
            arguments=[
                "--input-dir",
                "/opt/ml/processing/input",
                "--train-dir",
                "/opt/ml/processing/train",
                "--test-dir=/opt/ml/processing/test",
            ],
        ),
    )
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=SOURCE_DIR,
        framework_version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=MODELS,
        hyperparameters={"epochs": epochs},
        metric_definitions=[{"Name": "test:loss", "Regex": "test_loss=([0-9.]+)"}],
        sagemaker_session=session,
    )
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    train = TrainingStep(
        name="Train",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(
                    outputs["train"].S3Output.S3Uri, content_type="application/jsonlines"
                ),
                "test": TrainingInput(
                    outputs["test"].S3Output.S3Uri, content_type="application/jsonlines"
                ),
            }
        ),
    )
    if model_source_dir is None:
        # The code is inside model.tar.gz (code/jsonlines_handler.py, written by train.py):
        # with no entry_point the SDK neither uploads code nor adds a repack step.
        code: dict[str, Any] = {
            "env": {
                "SAGEMAKER_PROGRAM": "jsonlines_handler.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            }
        }
    else:
        code = {"entry_point": "jsonlines_handler.py", "source_dir": model_source_dir}
    model = PyTorchModel(
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=ROLE,
        framework_version=FRAMEWORK_VERSION,
        py_version=PY_VERSION,
        sagemaker_session=session,
        **code,
    )
    create_model = ModelStep(
        name="CreateModel", step_args=model.create(instance_type="ml.m5.large")
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            content_types=["application/jsonlines"],
            response_types=["application/jsonlines"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=GROUP,
            approval_status=approval,
        ),
    )
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=SCORES,
        assemble_with="Line",
        accept="application/jsonlines",
        sagemaker_session=session,
    )
    batch = TransformStep(
        name="BatchScore",
        step_args=transformer.transform(
            data=BATCH_DATA, content_type="application/jsonlines", split_type="Line"
        ),
    )
    return Pipeline(
        name="sdk-pytorch",
        parameters=[input_data, epochs, approval],
        steps=[preprocess, train, create_model, register, batch],
        sagemaker_session=session,
    )


def main() -> None:
    outputs = [(sys.argv[1], None)]
    if len(sys.argv) == 4:
        outputs.append((sys.argv[2], sys.argv[3]))
    for path, model_source_dir in outputs:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(build(model_source_dir).definition())


if __name__ == "__main__":
    main()
