"""Helpers of the processing job tests: CreateProcessingJob requests as the SDK and the
compiler write them, objects in the local store, and a script that reports what it saw."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from sagepipe.sagemaker.steps.processing import processing_input
from sagepipe.storage import RoutedStorage

from .conftest import CallRunner, ContextFactory

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"


CODE_URI = "s3://bucket/code/"


CODE = "/opt/ml/processing/input/code"


def put_text(storage: RoutedStorage, tmp_path: Path, uri: str, text: str) -> None:
    local = tmp_path / "upload" / uri.removeprefix("s3://")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text)
    storage.put_file(local, uri)


def put_script(storage: RoutedStorage, tmp_path: Path, source: str, name: str = "job.py") -> None:
    put_text(storage, tmp_path, CODE_URI + name, textwrap.dedent(source))


def s3_input(name: str, uri: Any, local_path: str, **extra: Any) -> dict[str, Any]:
    """An input as the compiler writes it, with ``extra`` S3Input members changed."""
    item: Any = processing_input(name, uri, local_path)
    item["S3Input"].update(extra)
    return dict(item)


def s3_output(name: str, uri: Any, local_path: str, mode: str = "EndOfJob") -> dict[str, Any]:
    return {
        "OutputName": name,
        "AppManaged": False,
        "S3Output": {"S3Uri": uri, "LocalPath": local_path, "S3UploadMode": mode},
    }


def request(
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    arguments: list[str] | None = None,
    script: str = "job.py",
    **extra: Any,
) -> dict[str, Any]:
    """A CreateProcessingJob request as the SDK's ScriptProcessor writes it."""
    app: dict[str, Any] = {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": ["python3", f"{CODE}/{script}"],
    }
    if arguments is not None:
        app["ContainerArguments"] = arguments
    body: dict[str, Any] = {
        "AppSpecification": app,
        "ProcessingInputs": [*(inputs or []), s3_input("code", CODE_URI, CODE)],
        "ProcessingOutputConfig": {"Outputs": outputs or []},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        "RoleArn": "arn:aws:iam::123456789012:role/R",
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    body.update(extra)
    return body


def read(storage: RoutedStorage, uri: str) -> str:
    with storage.open_read(uri) as handle:
        return handle.read().decode()


REPORT = """
    import json, os, pathlib, sys
    root = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"]) / "processing"
    files = sorted(
        p.relative_to(root / "input").as_posix()
        for p in (root / "input").rglob("*") if p.is_file()
    )
    config = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"]) / "config"
    report = {
        "args": sys.argv[1:],
        "files": files,
        "cwd": os.getcwd(),
        "env": os.environ.get("MY_SETTING"),
        "job": json.loads((config / "processingjobconfig.json").read_text())["ProcessingJobName"],
        "resources": json.loads((config / "resourceconfig.json").read_text()),
    }
    out = root / "output" / "report"
    (out / "nested").mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report))
    (out / "nested" / "done.txt").write_text("done")
"""


def input_files(
    storage: RoutedStorage,
    tmp_path: Path,
    inputs: list[dict[str, Any]],
    call_context: ContextFactory,
    run_call: CallRunner,
) -> list[str]:
    """Run the REPORT script with ``inputs`` (after the code input); the files it saw under
    ``/opt/ml/processing/input``."""
    put_script(storage, tmp_path, REPORT)
    out = s3_output("report", "s3://bucket/seen", "/opt/ml/processing/output/report")
    body = request(outputs=[out])
    body["ProcessingInputs"].extend(inputs)
    run_call(call_context("Processing", body))
    files: list[str] = json.loads(read(storage, "s3://bucket/seen/report.json"))["files"]
    return files
