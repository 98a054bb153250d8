"""torchrun (gloo on CPU) and simulated hosts algo-1..N. Each torch process costs ~2 s: few."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import RunJob, WriteSource

DDP = """
import json, os
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
for turn in range(world):  # one rank at a time: workers share one output pipe
    if turn == rank:
        print(f"rank={rank} world={world} sum={value.item()} host={os.environ['SM_CURRENT_HOST']}")
    dist.barrier()
if rank == 0:
    torch.save(model.module.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pth"))
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "result.json"), "w") as f:
        json.dump({"sum": value.item(), "world": world,
                   "fw": json.loads(os.environ["SM_FRAMEWORK_PARAMS"])}, f)
dist.barrier()
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_two_process_gloo_job_saves_from_rank_zero(
    write_source: WriteSource, run_job: RunJob
) -> None:
    source = write_source({"train.py": DDP})
    result, lines = run_job(
        source, distribution="torch_distributed", processes_per_host=2, install_requirements=False
    )
    assert result.exit_code == 0, result.failure_reason
    ranks = sorted(line for line in lines if line.startswith("rank="))
    assert ranks == [
        "rank=0 world=2 sum=3.0 host=algo-1",
        "rank=1 world=2 sum=3.0 host=algo-1",
    ]
    saved = json.loads((result.model_dir / "result.json").read_text())
    assert saved == {"sum": 3.0, "world": 2, "fw": {"sagemaker_torch_distributed_enabled": True}}
    assert sorted(p.name for p in result.model_dir.iterdir()) == ["model.pth", "result.json"]

    import torch

    state = torch.load(result.model_dir / "model.pth", weights_only=True)
    assert set(state) == {"weight", "bias"}


@pytest.mark.slow
def test_two_simulated_hosts_with_torchrun(
    tmp_path: Path, write_source: WriteSource, run_job: RunJob
) -> None:
    source = write_source({"train.py": DDP})
    result, lines = run_job(
        source, distribution="pytorchddp", instance_count=2, install_requirements=False
    )
    assert result.exit_code == 0, result.failure_reason
    assert sorted(line for line in lines if "rank=" in line) == [
        "[algo-1] rank=0 world=2 sum=3.0 host=algo-1",
        "[algo-2] rank=1 world=2 sum=3.0 host=algo-2",
    ]
    work = tmp_path / "work"
    assert result.model_dir == work / "algo-1" / "model"
    assert (result.model_dir / "result.json").exists()
    assert list((work / "algo-2" / "model").iterdir()) == []
    saved = json.loads((result.model_dir / "result.json").read_text())
    assert saved["fw"] == {"sagemaker_pytorch_ddp_enabled": True}


HOSTS = """
import json, os
names = ["SM_HOSTS", "SM_CURRENT_HOST", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK",
         "LOCAL_RANK", "SM_MODEL_DIR"]
values = {name: os.environ[name] for name in names}
values["master"] = json.loads(os.environ["SM_TRAINING_ENV"])["is_master"]
print(json.dumps(values, sort_keys=True))
"""


def test_simulated_hosts_without_distribution(
    tmp_path: Path, write_source: WriteSource, run_job: RunJob
) -> None:
    source = write_source({"train.py": HOSTS})
    result, lines = run_job(source, instance_count=3, install_requirements=False)
    assert result.exit_code == 0, result.failure_reason
    by_host = {}
    for line in lines:
        host, _, payload = line.partition(" ")
        by_host[host] = json.loads(payload)
    assert sorted(by_host) == ["[algo-1]", "[algo-2]", "[algo-3]"]
    ports = {values["MASTER_PORT"] for values in by_host.values()}
    assert len(ports) == 1
    for index, host in enumerate(["algo-1", "algo-2", "algo-3"]):
        values = by_host[f"[{host}]"]
        assert json.loads(values["SM_HOSTS"]) == ["algo-1", "algo-2", "algo-3"]
        assert values["SM_CURRENT_HOST"] == host
        assert values["MASTER_ADDR"] == "127.0.0.1"
        assert (values["WORLD_SIZE"], values["RANK"], values["LOCAL_RANK"]) == (
            "3",
            str(index),
            "0",
        )
        assert values["SM_MODEL_DIR"] == str(tmp_path / "work" / host / "model")
        assert values["master"] is (host == "algo-1")


def test_one_failing_host_fails_the_job(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {
            "train.py": """
            import os, time
            if os.environ["SM_CURRENT_HOST"] == "algo-2":
                raise RuntimeError("algo-2 ran out of data")
            time.sleep(60)  # algo-1 would wait for its peer forever
            """
        }
    )
    result, _ = run_job(source, instance_count=2, install_requirements=False)
    assert result.exit_code == 1
    assert result.failure_reason is not None
    assert result.failure_reason.endswith("RuntimeError: algo-2 ran out of data")
