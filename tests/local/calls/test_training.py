"""CreateTrainingJob run locally: real scripts in real subprocesses, inputs and outputs in the
local object store, properties shaped like DescribeTrainingJob."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.calls import CallContext, local_call
from sagepipe.local.errors import StepFailure
from sagepipe.local.evaluation import EvaluationContext, evaluate
from sagepipe.local.records import MetricPoint
from sagepipe.storage import RoutedStorage

IMAGE = "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.1.0-cpu-py310"
OUT = "s3://out-bucket/jobs"

TRAIN = """
    import argparse, json, os, pathlib
    parser = argparse.ArgumentParser()  # strict: any unexpected argument fails the job
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--optimizer", required=True)
    args = parser.parse_args()
    train = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"])
    config = pathlib.Path(os.environ["SM_INPUT_CONFIG_DIR"])
    for epoch in range(args.epochs):
        print(f"epoch={epoch} loss={1.0 / (epoch + 1):.3f}", flush=True)
    model = pathlib.Path(os.environ["SM_MODEL_DIR"])
    (model / "model.json").write_text(json.dumps({
        "args": vars(args),
        "train": sorted(p.relative_to(train).as_posix() for p in train.rglob("*") if p.is_file()),
        "framework": json.loads(os.environ["SM_FRAMEWORK_PARAMS"]),
        "instance_type": os.environ["SM_CURRENT_INSTANCE_TYPE"],
        "region": os.environ["SAGEMAKER_REGION"],
        "extra": os.environ.get("EXTRA"),
        "log_level": os.environ["SM_LOG_LEVEL"],
        "inputs": json.loads((config / "inputdataconfig.json").read_text()),
        "resources": json.loads((config / "resourceconfig.json").read_text()),
    }))
    (pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"]) / "report.txt").write_text("done")
"""


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _put(storage: RoutedStorage, tmp_path: Path, uri: str, data: bytes) -> None:
    local = tmp_path / "put.bin"
    local.write_bytes(data)
    storage.put_file(local, uri)


def _members(storage: RoutedStorage, uri: str) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(storage.open_read(uri).read()), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def request(
    code_uri: str = "s3://in-bucket/code/sourcedir.tar.gz",
    program: str = "train.py",
    hyperparameters: dict[str, str] | None = None,
    channels: list[dict[str, Any]] | None = None,
    **members: Any,
) -> dict[str, Any]:
    """A CreateTrainingJob request as the SageMaker SDK's PyTorch estimator writes it."""
    return {
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "loss", "Regex": r"loss=([0-9.]+)"},
                {"Name": "accuracy", "Regex": r"accuracy=([0-9.]+)"},
            ],
        },
        "HyperParameters": {
            "sagemaker_program": json.dumps(program),
            "sagemaker_submit_directory": json.dumps(code_uri),
            "sagemaker_container_log_level": "20",
            "sagemaker_region": '"us-west-2"',
            **(hyperparameters or {}),
        },
        "InputDataConfig": channels or [],
        "OutputDataConfig": {"S3OutputPath": OUT},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "RoleArn": "arn:aws:iam::123456789012:role/R",
        **members,
    }


def s3_channel(name: str, uri: str, **extra: Any) -> dict[str, Any]:
    data_type = extra.pop("S3DataType", "S3Prefix")
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": data_type,
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        **extra,
    }


Run = Callable[..., tuple[Any, list[MetricPoint], list[str]]]


@pytest.fixture
def run_step(call_context: Callable[..., CallContext], recorded_metrics: list[MetricPoint]) -> Run:
    """Run a Training step's request through ``local_call("Training")`` with the shared
    ``call_context``; returns the outcome (or the failure), its metrics and its log lines."""

    def run(
        arguments: dict[str, Any], step: str = "train"
    ) -> tuple[Any, list[MetricPoint], list[str]]:
        lines: list[str] = []
        context = call_context(
            "Training",
            arguments,
            step_name=step,
            job_name=f"{step}-job",
            log=lines.append,
            install_requirements=False,
        )
        recorded_metrics.clear()
        try:
            return local_call("Training").run(context), list(recorded_metrics), lines
        except StepFailure as failure:
            return failure, list(recorded_metrics), lines

    return run


def test_job_runs_the_program_with_channels_and_uploads_model_and_output(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": TRAIN}))
    _put(storage, tmp_path, "s3://in-bucket/data/a.csv", b"1,2\n")
    _put(storage, tmp_path, "s3://in-bucket/data/sub/b.csv", b"3,4\n")
    arguments = request(
        hyperparameters={
            "epochs": "3",
            "lr": "0.01",
            "optimizer": '"adam"',
            "sagemaker_torch_distributed_enabled": "false",
            "sagemaker_instance_type": '"ml.m5.xlarge"',
        },
        channels=[s3_channel("train", "s3://in-bucket/data", ContentType="text/csv")],
        Environment={"EXTRA": "yes"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        EnableNetworkIsolation=True,
    )
    arguments["HyperParameters"]["sagemaker_container_log_level"] = "10"
    outcome, metrics, lines = run_step(arguments)
    assert not isinstance(outcome, StepFailure), outcome
    model_uri = f"{OUT}/train-job/output/model.tar.gz"
    properties = outcome.properties
    assert properties["TrainingJobStatus"] == "Completed"
    assert properties["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert properties["TrainingJobArn"].endswith(":training-job/train-job")
    assert properties["HyperParameters"] == arguments["HyperParameters"]
    assert properties["InputDataConfig"] == arguments["InputDataConfig"]
    assert properties["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert "FailureReason" not in properties
    # What a later step's Get reads.
    context = EvaluationContext(parameters={}, properties={"train": properties})
    loss = {"Get": "Steps.train.FinalMetricDataList['loss'].Value"}
    assert evaluate(loss, context, "test") == pytest.approx(0.333)
    assert [(p.step_name, p.name, p.value) for p in metrics] == [
        ("train", "loss", 1.0), ("train", "loss", 0.5), ("train", "loss", 0.333)
    ]  # fmt: skip
    assert outcome.warnings[-1] == (
        "metric definition 'accuracy' never matched a line of the training log"
    )
    model = json.loads(_members(storage, model_uri)["model.json"])
    assert model["args"] == {"epochs": 3, "lr": 0.01, "optimizer": "adam"}
    assert model["train"] == ["a.csv", "sub/b.csv"]
    assert model["framework"] == {
        "sagemaker_instance_type": "ml.m5.xlarge",
        "sagemaker_torch_distributed_enabled": False,
    }
    assert model["instance_type"] == "ml.m5.xlarge" and model["region"] == "us-west-2"
    assert model["extra"] == "yes" and model["log_level"] == "10"
    assert properties["VpcConfig"] == arguments["VpcConfig"]
    assert model["inputs"]["train"]["ContentType"] == "text/csv"
    assert model["resources"]["hosts"] == ["algo-1"]
    output_uri = f"{OUT}/train-job/output/output.tar.gz"
    assert _members(storage, output_uri) == {"report.txt": b"done"}
    assert outcome.outputs == [{"uri": model_uri, "objects": 1}, {"uri": output_uri, "objects": 1}]
    assert "sagepipe: channel 'train': 2 file(s) from s3://in-bucket/data" in lines


def test_code_prefix_manifest_channel_and_notes(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    script = """
        import os, pathlib
        root = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"])
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "names.txt").write_text(",".join(names))
    """
    _put(storage, tmp_path, "s3://in-bucket/src/run.py", textwrap.dedent(script).encode())
    for key in ("x/1.csv", "x/2.csv", "y/3.csv"):
        _put(storage, tmp_path, f"s3://in-bucket/bulk/{key}", b"1\n")
    manifest = [{"prefix": "s3://in-bucket/bulk/"}, "x/1.csv", "y/3.csv"]
    _put(storage, tmp_path, "s3://in-bucket/manifest.json", json.dumps(manifest).encode())
    arguments = request(
        code_uri="s3://in-bucket/src",
        program="run.py",
        channels=[
            s3_channel(
                "train",
                "s3://in-bucket/manifest.json",
                S3DataType="ManifestFile",
                InputMode="FastFile",
                CompressionType="Gzip",
            )
        ],
    )
    arguments["AlgorithmSpecification"]["TrainingImage"] = IMAGE.replace("2.1.0", "1.13.1")
    outcome, _, _ = run_step(arguments)
    assert not isinstance(outcome, StepFailure), outcome
    model = _members(storage, f"{OUT}/train-job/output/model.tar.gz")
    assert model["names.txt"] == b"x/1.csv,y/3.csv"
    notes = "\n".join(outcome.warnings)
    assert "FastFile" in notes and "CompressionType Gzip" in notes
    assert "has PyTorch 1.13.1; the local runtime has torch" in notes


def test_failing_script_fails_the_step_with_its_exception_and_keeps_metrics(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    script = "print('loss=0.9', flush=True)\nraise ValueError('no labels in the data')\n"
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": script}))
    failure, metrics, _ = run_step(request())
    assert isinstance(failure, StepFailure)
    first = failure.reason.splitlines()[0]
    assert first.startswith("ValueError: no labels in the data (log: ")
    assert [p.value for p in metrics] == [0.9]
    assert not storage.exists(f"{OUT}/train-job/output/model.tar.gz")


def test_strict_argparse_sees_only_user_hyperparameters(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": TRAIN}))
    _put(storage, tmp_path, "s3://in-bucket/data/a.csv", b"1\n")
    arguments = request(
        hyperparameters={"epochs": "1", "lr": "0.1", "optimizer": "sgd", "unknown": "1"},
        channels=[s3_channel("train", "s3://in-bucket/data")],
    )
    failure, _, _ = run_step(arguments)
    assert isinstance(failure, StepFailure)
    assert "unrecognized arguments: --unknown 1" in failure.reason.splitlines()[0]


def test_max_runtime_stops_the_job(run_step: Run, storage: RoutedStorage, tmp_path: Path) -> None:
    script = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": script}))
    failure, _, lines = run_step(request(StoppingCondition={"MaxRuntimeInSeconds": 1}))
    assert isinstance(failure, StepFailure)
    assert failure.reason.startswith("MaxRuntimeExceeded: the job ran longer than")
    assert "started" in lines


def test_run_training_job_reads_local_code_and_channels_and_describes_a_stop(
    tmp_path: Path, storage: RoutedStorage
) -> None:
    """The path of ``sagepipe train`` and the PyTorch local mode: ``file://`` code and
    channel, no pipeline; the outcome is described as DescribeTrainingJob would."""
    from sagepipe.local.calls.training import run_training_job

    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(
        "import os, time\n"
        "print(sorted(os.listdir(os.environ['SM_CHANNEL_TRAIN'])), flush=True)\n"
        "time.sleep(60)\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("1\n")
    arguments = request(
        code_uri=code.as_uri(),
        channels=[s3_channel("train", data.as_uri())],
        StoppingCondition={"MaxRuntimeInSeconds": 1},
    )
    lines: list[str] = []
    outcome = run_training_job(
        arguments,
        "local-job",
        job_dir=tmp_path / "job",
        opt_ml=tmp_path / "job" / "opt-ml",
        storage=storage,
        log=lines.append,
        install_requirements=False,
    )
    assert "['rows.csv']" in lines
    described = outcome.description
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == (
        "Stopped",
        "MaxRuntimeExceeded",
    )
    assert described["FailureReason"].startswith("MaxRuntimeExceeded: ")
    assert "ModelArtifacts" not in described
    assert outcome.log_path == tmp_path / "job" / "opt-ml" / "training.log"
    assert not storage.list("s3://out-bucket/")


def test_checkpoints_are_restored_before_and_saved_after(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    script = """
        import os, pathlib
        ckpt = pathlib.Path("/opt/ml/checkpoints/custom".replace(
            "/opt/ml", os.environ["SAGEMAKER_BASE_DIR"]))
        step = int((ckpt / "step.txt").read_text()) if (ckpt / "step.txt").exists() else 0
        ckpt.mkdir(parents=True, exist_ok=True)
        (ckpt / "step.txt").write_text(str(step + 1))
        (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "step.txt").write_text(str(step + 1))
    """
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": script}))
    config = {"S3Uri": "s3://ckpt-bucket/run", "LocalPath": "/opt/ml/checkpoints/custom"}
    first, _, _ = run_step(request(CheckpointConfig=config), step="first")
    assert not isinstance(first, StepFailure), first
    assert storage.open_read("s3://ckpt-bucket/run/step.txt").read() == b"1"
    second, _, lines = run_step(request(CheckpointConfig=config), step="second")
    assert not isinstance(second, StepFailure), second
    assert storage.open_read("s3://ckpt-bucket/run/step.txt").read() == b"2"
    assert _members(storage, f"{OUT}/second-job/output/model.tar.gz")["step.txt"] == b"2"
    assert "sagepipe: checkpoints restored from s3://ckpt-bucket/run (1 file(s))" in lines
    assert second.properties["CheckpointConfig"] == config


@pytest.mark.slow
def test_distribution_flag_runs_torchrun_over_simulated_hosts(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    script = """
        import json, os, pathlib
        record = {k: os.environ[k] for k in ("RANK", "WORLD_SIZE", "SM_CURRENT_HOST")}
        record["hosts"] = json.loads(os.environ["SM_HOSTS"])
        print("rank", json.dumps(record, sort_keys=True), flush=True)
        if record["RANK"] == "0":
            (pathlib.Path(os.environ["SM_MODEL_DIR"]) / "rank0.json").write_text(json.dumps(record))
    """
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": script}))
    arguments = request(
        hyperparameters={
            "sagemaker_distributed_dataparallel_enabled": "true",
            "sagemaker_distributed_dataparallel_custom_mpi_options": '""',
        }
    )
    arguments["ResourceConfig"]["InstanceCount"] = 2
    outcome, _, lines = run_step(arguments)
    assert not isinstance(outcome, StepFailure), outcome
    ranks = sorted(
        json.loads(line.split("rank ", 1)[1])["RANK"] for line in lines if "rank {" in line
    )
    assert ranks == ["0", "1"]
    rank0 = json.loads(_members(storage, f"{OUT}/train-job/output/model.tar.gz")["rank0.json"])
    assert rank0 == {
        "RANK": "0", "WORLD_SIZE": "2", "SM_CURRENT_HOST": "algo-1", "hosts": ["algo-1", "algo-2"]
    }  # fmt: skip


def test_an_empty_channel_fails_naming_channel_and_uri(
    run_step: Run, storage: RoutedStorage, tmp_path: Path
) -> None:
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", _tar({"train.py": TRAIN}))
    failure, _, _ = run_step(request(channels=[s3_channel("train", "s3://in-bucket/nothing")]))
    assert isinstance(failure, StepFailure)
    assert failure.reason.startswith(
        "InputDataConfig channel 'train' reads s3://in-bucket/nothing, where there is no object"
    )
    assert not storage.list("s3://out-bucket/")


def test_a_sourcedir_with_an_escaping_member_is_refused(
    run_step: Run, storage: RoutedStorage, tmp_path: Path, home: Path
) -> None:
    archive = _tar({"train.py": "print('hi')\n", "../../escaped.py": "print('evil')\n"})
    _put(storage, tmp_path, "s3://in-bucket/code/sourcedir.tar.gz", archive)
    failure, _, _ = run_step(request())
    assert isinstance(failure, StepFailure)
    assert failure.reason.startswith(
        "HyperParameters.sagemaker_submit_directory s3://in-bucket/code/sourcedir.tar.gz: "
    )
    assert not list(home.rglob("escaped.py"))


def test_a_missing_submit_directory_is_named(run_step: Run) -> None:
    failure, _, _ = run_step(request(code_uri="s3://in-bucket/none/sourcedir.tar.gz"))
    assert isinstance(failure, StepFailure)
    assert failure.reason.startswith(
        "HyperParameters.sagemaker_submit_directory reads s3://in-bucket/none/sourcedir.tar.gz, "
        "where there is no object"
    )


def _problems(arguments: dict[str, Any]) -> list[str]:
    return local_call("Training").problems("train", arguments)


def test_problems_name_each_field_with_no_local_meaning() -> None:
    assert _problems(request()) == []
    bad = request(
        hyperparameters={"sagemaker_mpi_enabled": "true"},
        channels=[
            s3_channel("train", "s3://in-bucket/data", InputMode="Pipe"),
            {"ChannelName": "fs", "DataSource": {"FileSystemDataSource": {}}},
        ],
        CheckpointConfig={"S3Uri": "s3://c", "LocalPath": "/tmp/ckpt"},
        AutoMLConfig={},
    )
    bad["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    bad["AlgorithmSpecification"]["TrainingImage"] = (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    )
    problems = _problems(bad)
    expected = [
        "AutoMLConfig has no local meaning",
        "AlgorithmSpecification.TrainingImage '123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1'"
        " has no local runtime",
        "AlgorithmSpecification.TrainingInputMode is Pipe",
        "HyperParameters.sagemaker_mpi_enabled asks for a launcher that is not simulated",
        "InputDataConfig[0] (channel 'train'): InputMode Pipe is not supported locally",
        "InputDataConfig[1] (channel 'fs'): only S3DataSource is read locally",
        "CheckpointConfig.LocalPath '/tmp/ckpt' is outside /opt/ml",
    ]
    assert len(problems) == len(expected)
    for text in expected:
        assert any(p.startswith("step 'train': ") and text in p for p in problems), text
    assert all("\n" not in p for p in problems)


def test_problems_skip_expressions_and_check_images_and_sharding() -> None:
    arguments = request(hyperparameters={"epochs": {"Get": "Parameters.Epochs"}})
    arguments["AlgorithmSpecification"]["TrainingImage"] = {"Get": "Parameters.Image"}
    arguments["HyperParameters"] = {"Std:Join": {"On": "", "Values": []}}
    assert _problems(arguments) == []
    inference = request()
    inference["AlgorithmSpecification"]["TrainingImage"] = IMAGE.replace("training", "inference")
    assert "is a pytorch-inference image" in _problems(inference)[0]
    sharded = request(channels=[s3_channel("train", "s3://in-bucket/d")])
    sharded["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = (
        "ShardedByS3Key"
    )
    assert _problems(sharded) == []  # one instance: every object goes to it
    sharded["ResourceConfig"]["InstanceCount"] = 2
    assert "ShardedByS3Key over 2 instances" in _problems(sharded)[0]
    no_program = request()
    del no_program["HyperParameters"]["sagemaker_program"]
    assert "HyperParameters has no sagemaker_program" in _problems(no_program)[0]
