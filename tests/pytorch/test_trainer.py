"""ModelTrainer: the SDK's newer API on the same local runtime."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sagepipe.pytorch import (
    Compute,
    EstimatorError,
    InputData,
    ModelTrainer,
    SourceCode,
    Torchrun,
)
from sagepipe.storage import get_storage


def test_train_with_input_data(home: Path, code: Path, data: Path, tmp_path: Path) -> None:
    trainer = ModelTrainer(
        source_code=SourceCode(source_dir=str(code), entry_script="train.py"),
        compute=Compute(instance_type="local_cpu"),
        hyperparameters={"factor": 4, "tag": "trainer"},
        base_job_name="my-trainer",
    )
    trainer.train(input_data_config=[InputData(channel_name="train", data_source=str(data))])
    job = trainer.latest_training_job
    assert job.name.startswith("my-trainer-")
    assert job.describe()["TrainingJobStatus"] == "Completed"
    archive = tmp_path / "model.tar.gz"
    get_storage().get_file(trainer.model_data, archive)
    with tarfile.open(archive) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        assert json.load(member) == {
            "factor": 4,
            "tag": "trainer",
            "files": {"train": ["a.csv", "b.csv"]},
        }


@pytest.mark.slow
def test_torchrun_with_two_processes_per_node(home: Path, tmp_path: Path) -> None:
    code = tmp_path / "ddp"
    code.mkdir()
    (code / "ddp.py").write_text(
        "import torch.distributed as dist\n"
        "dist.init_process_group('gloo')\n"
        "print(f'rank {dist.get_rank()} of {dist.get_world_size()}', flush=True)\n"
        "dist.destroy_process_group()\n"
    )
    trainer = ModelTrainer(
        source_code=SourceCode(source_dir=str(code), entry_script="ddp.py"),
        distributed=Torchrun(process_count_per_node=2),
    )
    trainer.train(logs=False)
    log = Path(trainer.latest_training_job.describe()["LogPath"]).read_text()
    assert "rank 0 of 2" in log and "rank 1 of 2" in log


def test_requirements_must_be_requirements_txt(code: Path) -> None:
    with pytest.raises(EstimatorError, match=r"requirements\.txt"):
        ModelTrainer(
            source_code=SourceCode(
                source_dir=str(code), entry_script="train.py", requirements="reqs/dev.txt"
            )
        )


def test_importing_the_api_is_light() -> None:
    code = "import json, sys, sagepipe.pytorch\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    heavy = ("torch", "boto3", "botocore", "numpy", "starlette", "uvicorn")
    modules = json.loads(result.stdout.splitlines()[-1])
    assert [m for m in modules if m.split(".")[0] in heavy] == []
