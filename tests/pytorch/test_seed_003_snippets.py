"""Seed 003 (the SageMaker SDK's "Use PyTorch with the SageMaker Python SDK" page): its
snippets run as written, only the imports changed (``sagemaker.pytorch`` -> ``sagepipe.pytorch``,
``sagemaker`` -> ``sagepipe``).

The one other change, marked ``# seed: ...`` where made: a snippet that trains or deploys on an
``ml.*`` instance (real SageMaker) runs in the SDK's local mode, ``instance_type="local"``.
Its S3 URIs are the local object store's (the tests put the data there first); the scripts
and model files the page assumes are written by the tests, from the page's own snippets.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from sagepipe.endpoints import IN_SERVICE, describe_endpoint
from sagepipe.pytorch import PyTorch, PyTorchModel
from sagepipe.serving.serializers import IdentitySerializer
from sagepipe.storage import get_storage

# "Prepare a PyTorch Training Script" and "Save the Model", as the page writes them; the
# elided "# ... train `model`" parts are filled in (a Linear(2, 1) with known weights) and
# the arguments recorded, so that the test sees what the script received.
TRAINING_SCRIPT = """
    import argparse
    import json
    import os

    import torch

    if __name__ =='__main__':

        parser = argparse.ArgumentParser()

        # hyperparameters sent by the client are passed as command-line arguments to the script.
        parser.add_argument('--epochs', type=int, default=50)
        parser.add_argument('--batch-size', type=int, default=64)
        parser.add_argument('--learning-rate', type=float, default=0.05)
        parser.add_argument('--use-cuda', type=bool, default=False)

        # Data, model, and output directories
        parser.add_argument('--output-data-dir', type=str, default=os.environ['SM_OUTPUT_DATA_DIR'])
        parser.add_argument('--model-dir', type=str, default=os.environ['SM_MODEL_DIR'])
        parser.add_argument('--train', type=str, default=os.environ['SM_CHANNEL_TRAIN'])
        parser.add_argument('--test', type=str, default=os.environ['SM_CHANNEL_TEST'])

        args, _ = parser.parse_known_args()

        # ... load from args.train and args.test, train a model, write model to args.model_dir.
        model = torch.nn.Linear(2, 1)
        with open(os.path.join(args.model_dir, 'model.pth'), 'wb') as f:
            torch.save(model.state_dict(), f)
        seen = dict(vars(args), train_files=sorted(os.listdir(args.train)),
                    test_files=sorted(os.listdir(args.test)))
        with open(os.path.join(args.model_dir, 'args.json'), 'w') as f:
            json.dump(seen, f)
"""

# The page's lines are kept as they are, long ones included.
# ruff: noqa: E501

# "Load a Model" and "Get Predictions from a PyTorch Model" (model_fn with context, the
# overridden predict_fn), for a model that doubles its input; training as "Save the Model".
TRAIN_AND_DEPLOY = """
    import argparse
    import os

    import torch


    class Your_Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return x * self.scale


    def model_fn(model_dir, context):
        model = Your_Model()
        with open(os.path.join(model_dir, 'model.pth'), 'rb') as f:
            model.load_state_dict(torch.load(f))
        return model


    def predict_fn(input_data, model):
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
        model.to(device)
        model.eval()
        with torch.no_grad():
            return model(input_data.to(device))


    if __name__=='__main__':
        parser = argparse.ArgumentParser()
        # default to the value in environment variable `SM_MODEL_DIR`. Using args makes the script more portable.
        parser.add_argument('--model-dir', type=str, default=os.environ['SM_MODEL_DIR'])
        args, _ = parser.parse_known_args()

        # ... train `model`, then save it to `model_dir`
        model = Your_Model()
        with torch.no_grad():
            model.scale.fill_(2.0)
        with open(os.path.join(args.model_dir, 'model.pth'), 'wb') as f:
            torch.save(model.state_dict(), f)
"""

# "Bring your own model": model_fn, the pickled-tensor input_fn and predict_fn of the page.
INFERENCE_SCRIPT = """
    import os

    import numpy as np
    import torch
    from six import BytesIO


    class Your_Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return x * self.scale


    def model_fn(model_dir, context):
        model = Your_Model()
        with open(os.path.join(model_dir, 'model.pth'), 'rb') as f:
            model.load_state_dict(torch.load(f))
        return model


    def input_fn(request_body, request_content_type):
        \"\"\"An input_fn that loads a pickled tensor\"\"\"
        if request_content_type == 'application/python-pickle':
            return torch.load(BytesIO(request_body))
        else:
            # Handle other content-types here or raise an Exception
            # if the content type is not supported.
            pass


    def predict_fn(input_data, model):
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
        model.to(device)
        model.eval()
        with torch.no_grad():
            return model(input_data.to(device))
"""


def _write(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source))


def _put_data(*prefixes: str) -> None:
    storage = get_storage()
    for number, prefix in enumerate(prefixes):
        local = Path(f"part-{number}.csv")
        local.write_text("1,2\n3,4\n")
        storage.put_file(str(local), f"{prefix.rstrip('/')}/part-{number}.csv")
        local.unlink()


def _model_files(model_data: str, work: Path) -> dict[str, bytes]:
    get_storage().get_file(model_data, work / "model.tar.gz")
    with tarfile.open(work / "model.tar.gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.fixture
def project(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's working directory, with the page's training scripts."""
    directory = tmp_path / "project"
    directory.mkdir()
    monkeypatch.chdir(directory)
    _write(directory / "pytorch-train.py", TRAINING_SCRIPT)
    _write(directory / "train_and_deploy.py", TRAIN_AND_DEPLOY)
    return directory


def test_create_an_estimator_and_fit_two_channels(project: Path) -> None:
    _put_data(
        "s3://my-data-bucket/path/to/my/training/data", "s3://my-data-bucket/path/to/my/test/data"
    )

    # fmt: off
    pytorch_estimator = PyTorch('pytorch-train.py',
                                instance_type='local',  # seed: 'ml.p3.2xlarge'
                                instance_count=1,
                                framework_version='1.8.0',
                                py_version='py3',
                                hyperparameters = {'epochs': 20, 'batch-size': 64, 'learning-rate': 0.1})
    pytorch_estimator.fit({'train': 's3://my-data-bucket/path/to/my/training/data',
                           'test': 's3://my-data-bucket/path/to/my/test/data'})
    # fmt: on

    files = _model_files(pytorch_estimator.model_data, project)
    seen = json.loads(files["args.json"])
    assert (seen["epochs"], seen["batch_size"], seen["learning_rate"]) == (20, 64, 0.1)
    assert seen["train_files"] == ["part-0.csv"] and seen["test_files"] == ["part-1.csv"]
    # /opt/ml/model itself, or the local job's stand-in for it (<job>/opt-ml/model).
    assert re.fullmatch(r"/opt/ml/model|/.+/opt-ml/model", seen["model_dir"]), seen["model_dir"]
    assert "model.pth" in files


@pytest.mark.slow
def test_deploy_an_estimator_and_predict(project: Path) -> None:
    _put_data("s3://my_bucket/my_training_data/")

    # fmt: off
    # Train my estimator
    pytorch_estimator = PyTorch(entry_point='train_and_deploy.py',
                                instance_type='local',  # seed: 'ml.p3.2xlarge'
                                instance_count=1,
                                framework_version='1.8.0',
                                py_version='py3')
    pytorch_estimator.fit('s3://my_bucket/my_training_data/')

    # Deploy my estimator to a SageMaker Endpoint and get a Predictor
    predictor = pytorch_estimator.deploy(instance_type='local',  # seed: 'ml.m4.xlarge'
                                         initial_instance_count=1)

    # `data` is a NumPy array or a Python list.
    # `response` is a NumPy array.
    data = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    response = predictor.predict(data)
    # fmt: on

    assert isinstance(response, np.ndarray)
    assert response.tolist() == [[2.0, 4.0], [6.0, 8.0]]
    # "You can access the name of the Endpoint by the name property on the returned Predictor."
    assert describe_endpoint(predictor.name).status == IN_SERVICE
    predictor.delete_endpoint()


@pytest.mark.slow
def test_bring_your_own_model_with_the_pages_inference_script(
    project: Path, tmp_path: Path
) -> None:
    # "Create the directory structure for your model files": my_model/model.pth (a model that
    # triples) and code/, whose stale inference.py the entry point given below replaces.
    my_model = tmp_path / "my_model"
    (my_model / "code").mkdir(parents=True)
    state = {"scale": torch.tensor([3.0])}
    torch.save(state, my_model / "model.pth")
    (my_model / "code" / "inference.py").write_text("raise RuntimeError('the stale script')\n")
    # "tar czvf ../model.tar.gz *" from within my_model
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        for name in ("model.pth", "code"):
            tar.add(my_model / name, arcname=name)
    get_storage().put_file(str(tmp_path / "model.tar.gz"), "s3://my-bucket/my-path/model.tar.gz")
    _write(project / "inference.py", INFERENCE_SCRIPT)

    # fmt: off
    from sagepipe import get_execution_role
    role = get_execution_role()

    pytorch_model = PyTorchModel(model_data='s3://my-bucket/my-path/model.tar.gz', role=role,
                                 entry_point='inference.py')

    predictor = pytorch_model.deploy(instance_type='local',  # seed: 'ml.c4.xlarge'
                                     initial_instance_count=1)
    # fmt: on

    # "Now you can call the predict() method": a pickled tensor, as the input_fn expects.
    predictor.serializer = IdentitySerializer("application/python-pickle")
    buffer = io.BytesIO()
    torch.save(torch.tensor([[1.0, 2.0]]), buffer)
    assert predictor.predict(buffer.getvalue()).tolist() == [[3.0, 6.0]]
    predictor.delete_endpoint()


def test_attach_an_estimator_to_an_existing_training_job(project: Path) -> None:
    _put_data("s3://my_bucket/my_training_data/")
    PyTorch("train_and_deploy.py", instance_type="local").fit(
        "s3://my_bucket/my_training_data/", job_name="MyAwesomePyTorchTrainingJob", logs=False
    )

    # fmt: off
    my_training_job_name = 'MyAwesomePyTorchTrainingJob'
    pytorch_estimator = PyTorch.attach(my_training_job_name)
    # fmt: on

    assert pytorch_estimator.model_data.endswith("/MyAwesomePyTorchTrainingJob/output/model.tar.gz")
    assert pytorch_estimator.entry_point == "train_and_deploy.py"


def test_distributed_estimators_as_written(project: Path) -> None:
    # fmt: off
    pt_estimator = PyTorch(
        entry_point="train_ptddp.py",
        role="SageMakerRole",
        framework_version="1.12.0",
        py_version="py38",
        instance_count=2,
        instance_type="ml.p4d.24xlarge",
        distribution={
            "pytorchddp": {
                "enabled": True
            }
        }
    )
    # fmt: on

    assert (pt_estimator.distribution_strategy, pt_estimator.instance_count) == ("pytorchddp", 2)

    # fmt: off
    pt_estimator = PyTorch(
        entry_point="train_ptddp.py",
        role="SageMakerRole",
        framework_version="1.13.1",
        py_version="py38",
        instance_count=2,
        instance_type="ml.p4d.24xlarge",
        distribution={
            "torch_distributed": {
                "enabled": True
            }
        }
    )
    # fmt: on

    assert pt_estimator.distribution_strategy == "torch_distributed"
    assert not pt_estimator.is_local


# "Adapt Your Training Script": the page's DDP initialisation, with the arguments it uses.
DISTRIBUTED_SCRIPT = """
    import argparse
    import json
    import os

    import torch
    import torch.distributed as dist

    parser = argparse.ArgumentParser()
    parser.add_argument('--hosts', type=json.loads, default=os.environ['SM_HOSTS'])
    parser.add_argument('--current-host', type=str, default=os.environ['SM_CURRENT_HOST'])
    parser.add_argument('--backend', type=str, default='gloo')
    parser.add_argument('--distributed', type=bool, default=True)
    args = parser.parse_args()

    if args.distributed:
        # Initialize the distributed environment.
        world_size = len(args.hosts)
        os.environ['WORLD_SIZE'] = str(world_size)
        host_rank = args.hosts.index(args.current_host)
        dist.init_process_group(backend=args.backend, rank=host_rank)

    total = torch.tensor([dist.get_rank() + 1.0])
    dist.all_reduce(total)
    if dist.get_rank() == 0:
        with open(os.path.join(os.environ['SM_MODEL_DIR'], 'total.json'), 'w') as f:
            json.dump({'total': total.item(), 'world': dist.get_world_size()}, f)
    dist.destroy_process_group()
"""


@pytest.mark.slow
def test_distributed_training_on_two_hosts(project: Path) -> None:
    _write(project / "train_torch_distributed.py", DISTRIBUTED_SCRIPT)
    _put_data("s3://bucket/path/to/training/data")

    # fmt: off
    pt_estimator = PyTorch(
        entry_point="train_torch_distributed.py",
        role="SageMakerRole",
        framework_version="1.11.0",
        py_version="py38",
        instance_count=2,
        instance_type="local",  # seed: "ml.trn1.32xlarge"
        distribution={
            "torch_distributed": {
                "enabled": True
            }
        }
    )

    pt_estimator.fit("s3://bucket/path/to/training/data")
    # fmt: on

    files = _model_files(pt_estimator.model_data, project)
    assert json.loads(files["total.json"]) == {"total": 3.0, "world": 2}
