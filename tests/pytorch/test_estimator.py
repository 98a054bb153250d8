"""PyTorch.fit locally: inputs, hyperparameters, metrics, distribution, failures."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sagepipe.pytorch import EstimatorError, PyTorch, TrainingFailedError, TrainingInput
from sagepipe.storage import get_storage

METRICS = [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}]


def _model_record(model_data: str, tmp_path: Path) -> dict[str, object]:
    archive = tmp_path / "model.tar.gz"
    get_storage().get_file(model_data, archive)
    with tarfile.open(archive) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        record: dict[str, object] = json.load(member)
        return record


def test_fit_string_input_is_the_training_channel(
    home: Path, code: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(code),
        instance_type="local",
        hyperparameters={"factor": 3, "tag": "first"},
        metric_definitions=METRICS,
    )
    estimator.fit(str(data), job_name="string-input")
    assert "started with factor=3 tag=first" in capsys.readouterr().out
    assert estimator.model_data.endswith("/string-input/output/model.tar.gz")
    record = _model_record(estimator.model_data, tmp_path)
    assert record == {"factor": 3, "tag": "first", "files": {"training": ["a.csv", "b.csv"]}}
    job = estimator.latest_training_job
    assert job is not None and job.name == "string-input"
    described = job.describe()
    assert described["TrainingJobStatus"] == "Completed"
    assert described["FinalMetricDataList"][0]["Value"] == pytest.approx(0.333)
    # The CreateTrainingJob request the job ran, as SageMaker would have received it.
    hyperparameters = described["HyperParameters"]
    assert hyperparameters["factor"] == "3" and hyperparameters["tag"] == '"first"'
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    assert described["InputDataConfig"][0]["ChannelName"] == "training"
    assert "pytorch-training:" in described["AlgorithmSpecification"]["TrainingImage"]
    records = estimator.training_job_analytics.records()
    assert [r["value"] for r in records] == pytest.approx([1.0, 0.5, 0.333])


def test_fit_dict_of_channels_without_credentials_runs_locally(
    home: Path, code: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.csv").write_text("5\n")
    get_storage().put_dir(other, "s3://bucket/other")
    estimator = PyTorch(entry_point=str(code / "train.py"), hyperparameters={"factor": 2})
    estimator.fit(
        {"train": str(data), "test": TrainingInput("s3://bucket/other")},
        job_name="dict-input",
        logs=False,
    )
    output = capsys.readouterr().out
    assert "no AWS credentials" in output and "epoch=" not in output
    files = _model_record(estimator.model_data, tmp_path)["files"]
    assert files == {"train": ["a.csv", "b.csv"], "test": ["c.csv"]}


def test_failed_job_raises_with_its_reason(home: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("raise ValueError('bad learning rate')\n")
    estimator = PyTorch(entry_point=str(tmp_path / "bad.py"), instance_type="local")
    with pytest.raises(TrainingFailedError, match="bad learning rate"):
        estimator.fit(job_name="bad-job", logs=False)
    with pytest.raises(EstimatorError, match="no trained model"):
        _ = estimator.model_data


def test_unsupported_arguments_are_listed(code: Path) -> None:
    with pytest.raises(EstimatorError, match=r"subnets.*supported: entry_point.*image_uri"):
        PyTorch(entry_point="train.py", source_dir=str(code), subnets=["subnet-1"])
    with pytest.raises(EstimatorError, match="not supported"):
        PyTorch(entry_point="train.py", source_dir=str(code), distribution={"mpi": {}})


@pytest.mark.slow
def test_torch_distributed_runs_two_processes(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    script.write_text(
        "import os\n"
        "import torch.distributed as dist\n"
        "dist.init_process_group('gloo')\n"
        "rank, world = dist.get_rank(), dist.get_world_size()\n"
        "print(f'rank {rank} of {world}', flush=True)\n"
        "dist.barrier()\n"
        "if rank == 0:\n"
        "    open(os.path.join(os.environ['SM_MODEL_DIR'], 'world'), 'w').write(str(world))\n"
        "dist.destroy_process_group()\n"
    )
    estimator = PyTorch(
        entry_point=str(script),
        instance_type="local",
        instance_count=2,
        distribution={"torch_distributed": {"enabled": True}},
    )
    estimator.fit(job_name="ddp-job", logs=False)
    log = Path(estimator.latest_training_job.describe()["LogPath"]).read_text()  # type: ignore[union-attr]
    assert "rank 0 of 2" in log and "rank 1 of 2" in log
    archive = tmp_path / "m.tar.gz"
    get_storage().get_file(estimator.model_data, archive)
    with tarfile.open(archive) as tar:
        member = tar.extractfile("world")
        assert member is not None and member.read() == b"2"
