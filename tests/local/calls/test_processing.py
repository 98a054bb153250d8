"""CreateProcessingJob run locally: the request's features for real (scripts, local store)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from sagepipe.storage import RoutedStorage

from .conftest import EXECUTION_ID, REGION, CallRunner, ContextFactory

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


def s3_input(name: str, uri: str, local_path: str, **extra: Any) -> dict[str, Any]:
    s3 = {
        "S3Uri": uri,
        "LocalPath": local_path,
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        "S3CompressionType": "None",
    }
    s3.update(extra)
    return {"InputName": name, "AppManaged": False, "S3Input": s3}


def s3_output(name: str, uri: str, local_path: str, mode: str = "EndOfJob") -> dict[str, Any]:
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


def test_a_script_processor_request_runs_with_inputs_arguments_and_outputs(
    tmp_path: Path,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
) -> None:
    put_script(storage, tmp_path, REPORT)
    put_text(storage, tmp_path, "s3://bucket/data/part-1.csv", "1")
    put_text(storage, tmp_path, "s3://bucket/data/sub/part-2.csv", "2")
    put_text(storage, tmp_path, "s3://bucket/single/one.json", "{}")
    body = request(
        inputs=[
            s3_input("data", "s3://bucket/data/", "/opt/ml/processing/input/data"),
            s3_input("single", "s3://bucket/single/one.json", "/opt/ml/processing/input/one"),
        ],
        outputs=[s3_output("report", "s3://bucket/out/report", "/opt/ml/processing/output/report")],
        arguments=["--out", "/opt/ml/processing/output/report", "--flag=/opt/ml/x", "plain"],
        Environment={"MY_SETTING": "from-the-request"},
    )
    context = call_context("Processing", body, step_name="prep")
    outcome = run_call(context)

    report = json.loads(read(storage, "s3://bucket/out/report/report.json"))
    opt_ml = context.layout.opt_ml
    assert report["args"] == [
        "--out",
        f"{opt_ml}/processing/output/report",
        f"--flag={opt_ml}/x",
        "plain",
    ]
    assert report["files"] == [
        "code/job.py",
        "data/part-1.csv",
        "data/sub/part-2.csv",
        "one/one.json",
    ]
    assert Path(report["cwd"]) == opt_ml / "processing" / "input" / "code"
    assert report["env"] == "from-the-request"
    assert report["job"] == context.job_name
    assert report["resources"] == {"current_host": "algo-1", "hosts": ["algo-1"]}
    assert read(storage, "s3://bucket/out/report/nested/done.txt") == "done"
    assert outcome.outputs == [{"uri": "s3://bucket/out/report", "objects": 2}]
    assert sorted(context.layout.uploads.read_text().split()) == [
        "s3://bucket/out/report/nested/done.txt",
        "s3://bucket/out/report/report.json",
    ]


def test_properties_are_shaped_like_describe_processing_job(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    from sagepipe.local.evaluation import EvaluationContext, evaluate

    put_script(storage, tmp_path, "print('ok')")
    outputs = [
        s3_output("train", "s3://bucket/out/train", "/opt/ml/processing/output/train"),
        s3_output("test", "s3://bucket/out/test", "/opt/ml/processing/output/test"),
    ]
    body = request(outputs=outputs, Environment={"A": "1"})
    context = call_context("Processing", body, step_name="p")
    properties = run_call(context).properties

    assert properties["ProcessingJobName"] == f"p-{EXECUTION_ID}"
    assert properties["ProcessingJobArn"] == (
        f"arn:aws:sagemaker:{REGION}:000000000000:processing-job/p-{EXECUTION_ID}"
    )
    assert properties["ProcessingJobStatus"] == "Completed"
    assert properties["ProcessingOutputConfig"] == {"Outputs": outputs}
    assert properties["ProcessingInputs"] == body["ProcessingInputs"]
    assert properties["AppSpecification"] == body["AppSpecification"]
    assert properties["Environment"] == {"A": "1"}
    assert properties["ProcessingEndTime"] >= properties["ProcessingStartTime"]
    evaluation = EvaluationContext(parameters={}, properties={"p": properties})
    reference = {"Get": "Steps.p.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    assert evaluate(reference, evaluation, "a test") == "s3://bucket/out/test"
    by_index = {"Get": "Steps.p.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"}
    assert evaluate(by_index, evaluation, "a test") == "s3://bucket/out/train"
