"""``deploy()`` to SageMaker: the CreateModel / CreateEndpointConfig / CreateEndpoint requests
checked against botocore's service model by Stubber; code uploaded to the moto server (no
AWS call)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber

from sagepipe.errors import SagepipeError
from sagepipe.images import image_uri
from sagepipe.pytorch import PyTorch, PyTorchModel
from sagepipe.pytorch.sagemaker_endpoints import EndpointFailedError

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
REGION = "us-west-2"


class StubSession:
    """A boto3-Session-like object: S3 on the moto server, SageMaker stubbed."""

    region_name = REGION

    def __init__(self, moto_s3: str | None = None) -> None:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.clients = {
            "s3": session.client("s3", endpoint_url=moto_s3),
            "sagemaker": session.client("sagemaker"),
            "sagemaker-runtime": session.client("sagemaker-runtime"),
        }
        self.stubs = {
            name: Stubber(self.clients[name]) for name in ("sagemaker", "sagemaker-runtime")
        }
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str) -> Any:
        return self.clients[name]


def _described(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}",
        "EndpointConfigName": name,
        "EndpointStatus": status,
        "CreationTime": 0,
        "LastModifiedTime": 0,
        **extra,
    }


def _expect_deploy(
    stub: Stubber,
    name: str,
    environment: dict[str, str],
    model_data: str,
    statuses: tuple[str, ...] = ("Creating", "InService"),
    failure: str | None = None,
    model_name: Any = None,
) -> None:
    model_name = model_name or name
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:{REGION}:123456789012:model/{name}"},
        {
            "ModelName": model_name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {
                "Image": image_uri("inference", REGION, "2.1", "py310", "ml.m5.large"),
                "ModelDataUrl": model_data,
                "Environment": environment,
            },
        },
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint-config/{name}"},
        {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name,
                    "InitialInstanceCount": 2,
                    "InstanceType": "ml.m5.large",
                    "InitialVariantWeight": 1.0,
                }
            ],
        },
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}"},
        {"EndpointName": name, "EndpointConfigName": name},
    )
    for status in statuses:
        extra = {"FailureReason": failure} if failure and status == "Failed" else {}
        stub.add_response(
            "describe_endpoint", _described(name, status, **extra), {"EndpointName": name}
        )


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch, sagepipe_home_dir: Path) -> None:
    monkeypatch.setattr("sagepipe.pytorch.sagemaker_endpoints.time.sleep", lambda s: None)


def _put_model(session: StubSession, bucket: str, key: str) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.pth")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"weights"))
    session.clients["s3"].put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"


def _members(session: StubSession, bucket: str, key: str) -> dict[str, bytes]:
    body = session.clients["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _code(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (code / "requirements.txt").write_text("")
    return code


def test_model_deploy_repacks_the_code_creates_the_endpoint_and_deletes_it(
    tmp_path: Path, s3_bucket: str, moto_s3: str
) -> None:
    session = StubSession(moto_s3)
    model_data = _put_model(session, s3_bucket, "models/model.tar.gz")
    repacked = f"s3://{s3_bucket}/models/my-model/model.tar.gz"
    stub = session.stubs["sagemaker"]
    _expect_deploy(
        stub,
        "my-model",
        {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": REGION,
            "MY_VAR": "1",
        },
        repacked,
    )
    model = PyTorchModel(
        model_data,
        role=ROLE,
        entry_point="inference.py",
        source_dir=str(_code(tmp_path)),
        env={"MY_VAR": "1"},
        name="my-model",
        sagemaker_session=session,
    )
    predictor = model.deploy(2, "ml.m5.large")
    stub.assert_no_pending_responses()
    assert predictor.endpoint_name == "my-model" and not predictor.is_local
    # As the SDK repacks for PyTorch >= 1.2: the model files byte for byte, the code in code/.
    members = _members(session, s3_bucket, "models/my-model/model.tar.gz")
    assert sorted(members) == ["code/inference.py", "code/requirements.txt", "model.pth"]
    assert members["model.pth"] == b"weights"

    # The Predictor invokes the endpoint through the same session.
    runtime = session.stubs["sagemaker-runtime"]
    out = io.BytesIO()
    np.save(out, np.array([2.0]))
    runtime.add_response(
        "invoke_endpoint",
        {"Body": io.BytesIO(out.getvalue()), "ContentType": "application/x-npy"},
        {
            "EndpointName": "my-model",
            "ContentType": "application/x-npy",
            "Accept": "application/x-npy",
            "Body": predictor.serializer.serialize(np.array([1.0])),
        },
    )
    assert predictor.predict(np.array([1.0])).tolist() == [2.0]

    stub.add_response(
        "describe_endpoint", _described("my-model", "InService"), {"EndpointName": "my-model"}
    )
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "my-model"})
    stub.add_response("delete_endpoint", {}, {"EndpointName": "my-model"})
    predictor.delete_endpoint()
    stub.assert_no_pending_responses()


def test_an_entry_point_without_source_dir_adds_only_that_script_to_the_archives_code(
    tmp_path: Path, s3_bucket: str, moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's repack_model without source_dir: the archive's code/ is kept and the entry
    # point (a path from the working directory) is copied into it; nothing else from here.
    session = StubSession(moto_s3)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in (
            ("model.pth", b"weights"),
            ("code/inference.py", b"old"),
            ("code/helper.py", b"helper"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    session.clients["s3"].put_object(
        Bucket=s3_bucket, Key="models/model.tar.gz", Body=buffer.getvalue()
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "inference.py").write_text("new")
    (project / "notes.txt").write_text("not model code")
    (project / "data.csv").write_text("1,2\n")
    monkeypatch.chdir(project)
    stub = session.stubs["sagemaker"]
    _expect_deploy(
        stub,
        "my-model",
        {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": REGION,
        },
        f"s3://{s3_bucket}/models/my-model/model.tar.gz",
        statuses=("InService",),
    )
    model = PyTorchModel(
        f"s3://{s3_bucket}/models/model.tar.gz",
        role=ROLE,
        entry_point="inference.py",
        name="my-model",
        sagemaker_session=session,
    )
    model.deploy(2, "ml.m5.large")
    stub.assert_no_pending_responses()
    members = _members(session, s3_bucket, "models/my-model/model.tar.gz")
    assert members == {
        "model.pth": b"weights",
        "code/helper.py": b"helper",
        "code/inference.py": b"new",
    }


def test_an_entry_point_missing_here_and_in_the_archive_is_an_error(
    tmp_path: Path, s3_bucket: str, moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = StubSession(moto_s3)
    model_data = _put_model(session, s3_bucket, "models/model.tar.gz")
    monkeypatch.chdir(tmp_path)
    model = PyTorchModel(
        model_data, role=ROLE, entry_point="inference.py", sagemaker_session=session
    )
    with pytest.raises(SagepipeError, match=r"entry_point inference.py is not a file here nor"):
        model.deploy(1, "ml.m5.large")
    session.stubs["sagemaker"].assert_no_pending_responses()  # nothing was created


def test_estimator_deploy_repacks_the_training_code(
    tmp_path: Path, s3_bucket: str, moto_s3: str
) -> None:
    session = StubSession(moto_s3)
    (tmp_path / "train.py").write_text("")
    estimator = PyTorch(
        "train.py",
        source_dir=str(tmp_path),
        role=ROLE,
        instance_type="ml.m5.xlarge",
        framework_version="2.1",
        py_version="py310",
        sagemaker_session=session,
    )
    from sagepipe.pytorch.sagemaker_jobs import SageMakerTrainingJob

    code = io.BytesIO()
    with tarfile.open(fileobj=code, mode="w:gz") as tar:
        tar.add(tmp_path / "train.py", arcname="train.py")
    session.clients["s3"].put_object(
        Bucket=s3_bucket, Key="out/job/source/sourcedir.tar.gz", Body=code.getvalue()
    )
    submit = f"s3://{s3_bucket}/out/job/source/sourcedir.tar.gz"
    model_data = _put_model(session, s3_bucket, "out/job/output/model.tar.gz")
    estimator._remote = SageMakerTrainingJob("job", session.client("sagemaker"), submit)
    estimator._model_data = model_data
    stub = session.stubs["sagemaker"]
    _expect_deploy(
        stub,
        "my-endpoint",
        {
            "SAGEMAKER_PROGRAM": "train.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": REGION,
        },
        ANY,  # <model data dir>/<timestamped model name>/model.tar.gz
        statuses=("InService",),
        model_name=ANY,  # timestamped, as the SDK's
    )
    predictor = estimator.deploy(2, "ml.m5.large", endpoint_name="my-endpoint")
    stub.assert_no_pending_responses()
    # The job's uploaded code was repacked into the model, next to the model data.
    keys = [
        o["Key"]
        for o in session.clients["s3"].list_objects_v2(Bucket=s3_bucket, Prefix="out/job/output/")[
            "Contents"
        ]
    ]
    repacked = [
        k for k in keys if k.endswith("/model.tar.gz") and k != "out/job/output/model.tar.gz"
    ]
    assert len(repacked) == 1
    assert sorted(_members(session, s3_bucket, repacked[0])) == ["code/train.py", "model.pth"]
    assert predictor.endpoint_name == "my-endpoint"

    stub.add_response("delete_endpoint", {}, {"EndpointName": "my-endpoint"})
    predictor.delete_endpoint(delete_endpoint_config=False)
    stub.assert_no_pending_responses()


def test_a_failed_endpoint_raises_with_its_failure_reason() -> None:
    session = StubSession()
    model_data = "s3://bucket/model.tar.gz"
    stub = session.stubs["sagemaker"]
    _expect_deploy(
        stub,
        "bad",
        {"SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": REGION},
        model_data,
        statuses=("Creating", "Failed"),
        failure="The primary container did not pass the ping health check.",
    )
    model = PyTorchModel(model_data, role=ROLE, name="bad", sagemaker_session=session)
    with pytest.raises(EndpointFailedError, match="bad is Failed: The primary container did not"):
        model.deploy(2, "ml.m5.large")
    stub.assert_no_pending_responses()


def test_deploy_to_sagemaker_needs_a_role_and_s3_model_data(tmp_path: Path) -> None:
    session = StubSession()
    no_role = PyTorchModel("s3://bucket/model.tar.gz", sagemaker_session=session)
    with pytest.raises(SagepipeError, match=r"needs role="):
        no_role.deploy(1, "ml.m5.large")
    local_data = PyTorchModel(str(tmp_path), role=ROLE, sagemaker_session=session)
    with pytest.raises(SagepipeError, match="reads its model from S3"):
        local_data.deploy(1, "ml.m5.large")
    with pytest.raises(SagepipeError, match="SageMaker instance type"):
        local_data.deploy(1, "m5.large")
    session.stubs["sagemaker"].assert_no_pending_responses()  # nothing was called
