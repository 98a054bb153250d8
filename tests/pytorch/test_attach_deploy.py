"""attach to finished and running local jobs; deploy, predict with each serializer, delete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagepipe.endpoints import DELETED, describe_endpoint
from sagepipe.pytorch import JobNotFoundError, PyTorch, PyTorchModel
from sagepipe.registry import LocalRegistry
from sagepipe.serving.deserializers import CSVDeserializer, JSONDeserializer, NumpyDeserializer
from sagepipe.serving.predictor import Predictor
from sagepipe.serving.serializers import CSVSerializer, JSONSerializer, NumpySerializer


def _estimator(code: Path, **hyperparameters: object) -> PyTorch:
    return PyTorch(
        entry_point="train.py",
        source_dir=str(code),
        instance_type="local",
        hyperparameters={"factor": 2, **hyperparameters},
    )


def test_attach_to_a_finished_job(home: Path, code: Path, data: Path) -> None:
    _estimator(code).fit(str(data), job_name="finished-job", logs=False)
    attached = PyTorch.attach("finished-job", logs=False)
    assert attached.model_data.endswith("/finished-job/output/model.tar.gz")
    assert attached.hyperparameters == {"factor": 2}
    with pytest.raises(JobNotFoundError, match="finished-job"):
        PyTorch.attach("finished-jab")


def test_attach_follows_a_running_job(
    home: Path, code: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estimator = _estimator(code, sleep=1.5, tag="background")
    estimator.fit(str(data), wait=False, job_name="running-job")
    job = estimator.latest_training_job
    assert job is not None and job.describe()["TrainingJobStatus"] == "InProgress"
    attached = PyTorch.attach("running-job")
    output = capsys.readouterr().out
    assert "tag=background" in output and "epoch=2" in output
    assert attached.latest_training_job.describe()["TrainingJobStatus"] == "Completed"  # type: ignore[union-attr]


@pytest.mark.slow
def test_deploy_predict_each_serializer_then_delete(home: Path, code: Path, data: Path) -> None:
    estimator = _estimator(code, factor=3)
    estimator.fit(str(data), job_name="deployed-job", logs=False)
    predictor = estimator.deploy(1, "local", endpoint_name="my-endpoint")
    assert predictor.endpoint_name == "my-endpoint"
    assert describe_endpoint("my-endpoint").status == "InService"
    by_json = Predictor("my-endpoint", JSONSerializer(), JSONDeserializer())
    assert by_json.predict([[1, 2]]) == [[3, 6]]
    by_csv = Predictor("my-endpoint", CSVSerializer(), CSVDeserializer())
    assert [float(v) for row in by_csv.predict([[1, 2]]) for v in row] == [3.0, 6.0]
    by_npy = Predictor("my-endpoint", NumpySerializer(), NumpyDeserializer())
    result = by_npy.predict(np.array([[1.0, 2.0]], dtype=np.float32))
    assert result.tolist() == [[3.0, 6.0]]
    predictor.delete_endpoint()
    assert describe_endpoint("my-endpoint").status == DELETED


@pytest.mark.slow
def test_model_create_register_and_deploy(home: Path, code: Path, data: Path) -> None:
    estimator = _estimator(code, factor=5)
    estimator.fit(str(data), job_name="model-job", logs=False)
    model = PyTorchModel(
        model_data=estimator.model_data,
        entry_point="train.py",
        source_dir=str(code),
        framework_version="2.1",
        py_version="py310",
        name="five-times",
    )
    record = model.create()
    assert record.name == "five-times" and record.model_data_url == estimator.model_data
    assert record.environment["SAGEMAKER_PROGRAM"] == "train.py"
    package = model.register(
        content_types=["application/json"],
        response_types=["application/json"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name="fivers",
        approval_status="Approved",
    )
    assert package.model_approval_status == "Approved"
    assert LocalRegistry().describe_group("fivers", "us-east-1") is not None
    predictor = model.deploy(1, "local", JSONSerializer(), JSONDeserializer())
    assert predictor.predict([1]) == [5]
    predictor.delete_endpoint()
