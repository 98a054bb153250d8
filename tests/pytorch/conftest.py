"""Fixtures of the SDK-style API tests: a sagepipe home, a tiny training script, data."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagepipe.endpoints import DELETED, delete_endpoint, list_endpoints

# Trains nothing: records its arguments and channel files in model/, and serves
# `input * factor` (the default input_fn/output_fn decode and encode JSON, CSV and NPY).
TRAIN = """
    import argparse
    import json
    import os
    import time


    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.json")) as f:
            return json.load(f)


    def predict_fn(data, model):
        return data * model["factor"]


    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("--factor", type=int, default=1)
        parser.add_argument("--sleep", type=float, default=0)
        parser.add_argument("--tag", default="")
        args = parser.parse_args()
        channels = json.loads(os.environ["SM_CHANNELS"])
        files = {
            c: sorted(os.listdir(os.environ["SM_CHANNEL_" + c.upper()])) for c in channels
        }
        print(f"started with factor={args.factor} tag={args.tag}", flush=True)
        time.sleep(args.sleep)
        for epoch in range(3):
            print(f"epoch={epoch} loss={1.0 / (epoch + 1):.3f}", flush=True)
        record = {"factor": args.factor, "tag": args.tag, "files": files}
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
            json.dump(record, f)
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``SAGEPIPE_HOME`` and no AWS credentials; endpoints are stopped afterwards."""
    home = tmp_path / "home"
    monkeypatch.setenv("SAGEPIPE_HOME", str(home))
    monkeypatch.setenv("SAGEPIPE_STORAGE", "local")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        # Container and web-identity credentials (ECS, CodeBuild, EKS, OIDC CI runners).
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield home
    for record in list_endpoints(home):
        if record.status != DELETED:
            delete_endpoint(record.name, home, timeout_s=10)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """``code/train.py``: the training-and-inference script above."""
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / "train.py").write_text(textwrap.dedent(TRAIN))
    return directory


@pytest.fixture
def data(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "a.csv").write_text("1,2\n")
    (directory / "b.csv").write_text("3,4\n")
    return directory
