"""What the model, model package, transform and endpoint call tests share: a real
model.tar.gz with an inference script, the local store and a hand-built CallContext."""

from __future__ import annotations

import io
import tarfile
import textwrap
from pathlib import Path
from typing import Any

from sagepipe.local.calls.base import CallContext
from sagepipe.local.layout import StepLayout
from sagepipe.local.uploads import Uploader
from sagepipe.storage import RoutedStorage, get_storage

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
TRAINING_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"
BUCKET = "s3://sagepipe-local/calls"

# Scores each row (CSV or JSON lines; a JSON object's "features") as scale * sum(row).
INFERENCE = textwrap.dedent(
    """
    import json
    import os

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "weights.json")) as handle:
            return json.load(handle)

    def input_fn(body, content_type):
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        lines = [line for line in text.splitlines() if line.strip()]
        if content_type == "text/csv":
            return [[float(v) for v in line.split(",")] for line in lines]
        if content_type in ("application/json", "application/jsonlines"):
            rows = [json.loads(line) for line in lines]
            return [r["features"] if isinstance(r, dict) else r for r in rows]
        raise ValueError("unsupported content type " + content_type)

    def predict_fn(rows, model):
        return [model["scale"] * sum(row) for row in rows]

    def output_fn(prediction, accept):
        if accept == "text/csv":
            return "\\n".join(str(p) for p in prediction)
        return json.dumps(prediction)
    """
)
FAILING_LOAD = "def model_fn(model_dir):\n    raise RuntimeError('cannot load')\n"


def tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    """A gzipped tar holding ``files`` (names as given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path


def put_model(
    storage: RoutedStorage,
    tmp_path: Path,
    key: str = "model/model.tar.gz",
    inference: str | None = INFERENCE,
    scale: float = 2.0,
) -> str:
    """A model archive (``weights.json``, ``code/inference.py`` unless ``inference`` is
    None) in the local store; returns its URI."""
    files = {"weights.json": f'{{"scale": {scale}}}'.encode()}
    if inference is not None:
        files["code/inference.py"] = inference.encode()
    uri = f"{BUCKET}/{key}"
    storage.put_file(tar_gz(tmp_path / "archives" / key, files), uri)
    return uri


def put_text(storage: RoutedStorage, tmp_path: Path, key: str, data: bytes) -> str:
    """One object in the local store; returns its URI."""
    local = tmp_path / "objects" / key
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    uri = f"{BUCKET}/{key}"
    storage.put_file(local, uri)
    return uri


def model_request(model_data: str, **environment: str) -> dict[str, Any]:
    """A CreateModel request serving ``model_data`` with ``code/inference.py``."""
    env = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
        **environment,
    }
    return {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": model_data, "Environment": env},
    }


class Calls:
    """Builds the CallContext of one step, as the step process would, in a fresh home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.storage = get_storage("local", home)
        self.logs: dict[str, list[str]] = {}

    def context(
        self,
        step_name: str,
        step_type: str,
        request: dict[str, Any],
        job_name: str | None = None,
        execution_id: str = "exec1",
    ) -> CallContext:
        layout = StepLayout(self.home / "executions" / execution_id / step_name)
        layout.step_dir.mkdir(parents=True, exist_ok=True)
        lines = self.logs.setdefault(step_name, [])
        return CallContext(
            step_name=step_name,
            step_type=step_type,
            request=request,
            job_name=job_name or f"{step_name.lower()}-{execution_id}",
            execution_id=execution_id,
            pipeline_name="calls",
            region="us-east-1",
            home=self.home,
            layout=layout,
            storage=self.storage,
            uploader=Uploader(self.storage, layout.uploads),
            log=lines.append,
            opt_ml_mode="rewrite",
            record_metrics=lambda points: None,
        )
