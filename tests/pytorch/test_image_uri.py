"""``image_uri`` on the SDK-style classes: used instead of the table in SageMaker requests,
accepted locally when a local runtime stands in for it, refused locally (naming it) when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.pytorch import EstimatorError, ModelTrainer, PyTorch, PyTorchModel
from sagepipe.pytorch.sagemaker_endpoints import model_request
from sagepipe.pytorch.sagemaker_jobs import training_request
from sagepipe.pytorch.trainer import Compute, SourceCode

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
CUSTOM = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-team/trainer:7"
OLD_TRAINING = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.8.0-cpu-py3"
OLD_SERVING = "520713654638.dkr.ecr.us-east-1.amazonaws.com/sagemaker-pytorch:1.0.0-cpu-py3"


def _estimator(code: Path, **extra: object) -> PyTorch:
    return PyTorch(
        entry_point="train.py",
        source_dir=str(code),
        role=ROLE,
        instance_type="ml.m5.xlarge",
        output_path="s3://bucket/out",
        **extra,  # type: ignore[arg-type]
    )


def test_a_custom_image_is_the_sagemaker_training_image_without_versions(code: Path) -> None:
    request = training_request(
        _estimator(code, image_uri=CUSTOM), "job", {}, "us-west-2", "s3://b/c"
    )
    assert request["AlgorithmSpecification"]["TrainingImage"] == CUSTOM


def test_without_image_uri_the_versions_choose_the_sdks_image(code: Path) -> None:
    estimator = _estimator(code, framework_version="1.8.0", py_version="py3")
    request = training_request(estimator, "job", {}, "us-east-1", "s3://b/c")
    assert request["AlgorithmSpecification"]["TrainingImage"] == OLD_TRAINING
    with pytest.raises(EstimatorError, match=r"framework_version and py_version .*or image_uri"):
        training_request(_estimator(code), "job", {}, "us-east-1", "s3://b/c")


def test_model_trainer_training_image_is_the_estimators_image_uri(code: Path) -> None:
    trainer = ModelTrainer(
        source_code=SourceCode(source_dir=str(code), entry_script="train.py"),
        compute=Compute(instance_type="ml.m5.xlarge"),
        role=ROLE,
        training_image=CUSTOM,
    )
    trainer.estimator.output_path = "s3://bucket/out"
    request = training_request(trainer.estimator, "job", {}, "us-west-2", "s3://b/c")
    assert request["AlgorithmSpecification"]["TrainingImage"] == CUSTOM


def test_a_models_image_uri_is_its_sagemaker_image() -> None:
    model = PyTorchModel("s3://bucket/model.tar.gz", role=ROLE, image_uri=CUSTOM)
    assert model.serving_image_uri() == CUSTOM
    request = model_request(model, "m", "ml.m5.large", "us-west-2", "s3://bucket/model.tar.gz")
    assert request["PrimaryContainer"]["Image"] == CUSTOM
    plain = PyTorchModel(
        "s3://bucket/model.tar.gz", role=ROLE, framework_version="1.0.0", py_version="py3"
    )
    assert plain.serving_image_uri("us-east-1", "ml.c5.xlarge") == OLD_SERVING


def test_create_model_passes_the_estimators_image_on_as_the_sdk_does(code: Path) -> None:
    estimator = _estimator(code, image_uri=CUSTOM)
    estimator._model_data = "s3://bucket/model.tar.gz"
    assert estimator.create_model().image_uri == CUSTOM
    assert estimator.create_model(image_uri=OLD_SERVING).image_uri == OLD_SERVING


def test_a_local_fit_refuses_an_image_with_no_local_runtime(home: Path, code: Path) -> None:
    estimator = PyTorch(
        entry_point="train.py", source_dir=str(code), instance_type="local", image_uri=CUSTOM
    )
    with pytest.raises(EstimatorError) as caught:
        estimator.fit(job_name="custom-image")
    message = str(caught.value)
    assert CUSTOM in message and "SageMaker only" in message
    assert estimator.latest_training_job is None


def test_a_local_fit_runs_on_a_known_old_image_and_records_it(
    home: Path, code: Path, data: Path
) -> None:
    estimator = PyTorch(
        entry_point="train.py", source_dir=str(code), instance_type="local", image_uri=OLD_TRAINING
    )
    estimator.fit(str(data), job_name="old-image", logs=False)
    job = estimator.latest_training_job
    assert job is not None
    described = job.describe()
    assert described["TrainingJobStatus"] == "Completed"
    assert described["AlgorithmSpecification"]["TrainingImage"] == OLD_TRAINING


@pytest.mark.parametrize(
    ("image", "reason"),
    [(CUSTOM, "SageMaker only"), (OLD_TRAINING, "is a pytorch-training image")],
)
def test_a_local_endpoint_refuses_an_image_that_cannot_serve(
    home: Path, tmp_path: Path, image: str, reason: str
) -> None:
    model = PyTorchModel(str(tmp_path / "model.tar.gz"), image_uri=image)
    with pytest.raises(EstimatorError) as caught:
        model.deploy(instance_type="local")
    assert image in str(caught.value) and reason in str(caught.value)
