"""CreateProcessingJob run locally: the request's features for real (scripts, local store)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pydantic
import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure
from sagepipe.sagemaker.steps.processing import processing_input
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


def test_a_local_path_nested_in_another_input_lands_inside_it(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    # The SDK's FrameworkProcessor pattern: one input at /opt/ml/processing/input and the
    # code under it, listed first, so it must still end up inside the outer input.
    put_text(storage, tmp_path, "s3://bucket/whole/a.txt", "a")
    put_text(storage, tmp_path, "s3://bucket/whole/deep/b.txt", "b")
    outer = s3_input("all", "s3://bucket/whole", "/opt/ml/processing/input")
    files = input_files(storage, tmp_path, [outer], call_context, run_call)
    assert files == ["a.txt", "code/job.py", "deep/b.txt"]


def manifest_input(storage: RoutedStorage, tmp_path: Path, keys: list[str]) -> dict[str, Any]:
    """A ManifestFile input at ``.../input/listed`` whose manifest lists ``keys`` under
    ``s3://bucket/pool/``."""
    manifest = [{"prefix": "s3://bucket/pool/"}, *keys]
    put_text(storage, tmp_path, "s3://bucket/manifests/m.json", json.dumps(manifest))
    uri, local = "s3://bucket/manifests/m.json", "/opt/ml/processing/input/listed"
    return s3_input("listed", uri, local, S3DataType="ManifestFile")


def test_a_manifest_file_input_downloads_the_listed_objects(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_text(storage, tmp_path, "s3://bucket/pool/x/1.csv", "1")
    put_text(storage, tmp_path, "s3://bucket/pool/y/2.csv", "2")
    put_text(storage, tmp_path, "s3://bucket/pool/unlisted.csv", "no")
    listed = manifest_input(storage, tmp_path, ["x/1.csv", "y/2.csv"])
    files = input_files(storage, tmp_path, [listed], call_context, run_call)
    assert files == ["code/job.py", "listed/x/1.csv", "listed/y/2.csv"]


def test_a_manifest_listing_a_missing_object_fails_naming_it(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    listed = manifest_input(storage, tmp_path, ["gone.csv"])
    with pytest.raises(StepFailure, match=r"lists s3://bucket/pool/gone\.csv, where there is no"):
        run_call(call_context("Processing", request(inputs=[listed])))


SHARD_REPORT = """
    import json, os, pathlib
    opt_ml = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"])
    resources = json.loads((opt_ml / "config" / "resourceconfig.json").read_text())
    me = resources["current_host"]
    shard = sorted(p.name for p in (opt_ml / "processing" / "input" / "parts").iterdir())
    copy = sorted(p.name for p in (opt_ml / "processing" / "input" / "all").iterdir())
    out = opt_ml / "processing" / "output" / "hosts"
    (out / f"{me}.json").write_text(json.dumps({"hosts": resources["hosts"], "shard": shard,
                                                "all": copy}))
"""


def test_several_instances_run_as_hosts_with_sharded_inputs_and_one_output(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, SHARD_REPORT)
    for index in range(5):
        put_text(storage, tmp_path, f"s3://bucket/parts/p{index}.csv", str(index))
    body = request(
        inputs=[
            s3_input(
                "parts",
                "s3://bucket/parts/",
                "/opt/ml/processing/input/parts",
                S3DataDistributionType="ShardedByS3Key",
            ),
            s3_input("all", "s3://bucket/parts/", "/opt/ml/processing/input/all"),
        ],
        outputs=[s3_output("hosts", "s3://bucket/hosts", "/opt/ml/processing/output/hosts")],
    )
    body["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 2
    outcome = run_call(call_context("Processing", body))

    first = json.loads(read(storage, "s3://bucket/hosts/algo-1.json"))
    second = json.loads(read(storage, "s3://bucket/hosts/algo-2.json"))
    everything = [f"p{i}.csv" for i in range(5)]
    assert first["hosts"] == second["hosts"] == ["algo-1", "algo-2"]
    assert first["shard"] == ["p0.csv", "p2.csv", "p4.csv"]
    assert second["shard"] == ["p1.csv", "p3.csv"]
    assert first["all"] == second["all"] == everything
    assert outcome.outputs == [{"uri": "s3://bucket/hosts", "objects": 2}]


def test_continuous_upload_mode_is_uploaded_when_the_job_ends(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, REPORT)
    out = s3_output("report", "s3://bucket/live", "/opt/ml/processing/output/report", "Continuous")
    outcome = run_call(call_context("Processing", request(outputs=[out])))
    assert (
        outcome.properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3UploadMode"]
        == "Continuous"
    )
    assert json.loads(read(storage, "s3://bucket/live/report.json"))["files"] == ["code/job.py"]


def test_a_missing_input_fails_the_step_naming_the_uri(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    missing = s3_input("raw", "s3://bucket/nothing/here", "/opt/ml/processing/input/raw")
    context = call_context("Processing", request(inputs=[missing]))
    with pytest.raises(StepFailure) as failure:
        run_call(context)
    assert failure.value.reason.startswith(
        "ProcessingInputs 'raw' reads s3://bucket/nothing/here, where there is no object"
    )
    assert "never" not in context.layout.log.read_text()


def test_a_failing_script_fails_with_its_last_line_and_uploads_nothing(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    script = """
        import os, pathlib
        out = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"]) / "processing/output/out"
        (out / "half.txt").write_text("x")
        print("about to fail")
        raise ValueError("the data has no label column")
    """
    put_script(storage, tmp_path, script)
    out = s3_output("out", "s3://bucket/failed", "/opt/ml/processing/output/out")
    context = call_context("Processing", request(outputs=[out]))
    with pytest.raises(StepFailure) as failure:
        run_call(context)

    first_line = failure.value.reason.splitlines()[0]
    assert first_line == (
        f"processing script {CODE}/job.py exited with code 1: ValueError: the data has no "
        f"label column (log: {context.layout.log})"
    )
    assert "about to fail" in context.layout.log.read_text()
    properties = failure.value.properties or {}
    assert properties["ProcessingJobStatus"] == "Failed"
    assert properties["FailureReason"] == first_line
    assert "ValueError: the data has no label column" in properties["ExitMessage"]
    assert storage.list("s3://bucket/failed") == []


def test_max_runtime_stops_the_job_and_fails_the_step(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n")
    body = request(StoppingCondition={"MaxRuntimeInSeconds": 1})
    context = call_context("Processing", body, step_name="slow")
    with pytest.raises(StepFailure) as failure:
        run_call(context)
    assert failure.value.reason == (
        f"MaxRuntimeExceeded: processing job slow-{EXECUTION_ID} ran longer than "
        "StoppingCondition.MaxRuntimeInSeconds=1 and was stopped"
    )
    assert "sleeping" in context.layout.log.read_text()


def test_an_entrypoint_script_no_input_provides_fails_clearly(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('x')", name="other.py")
    with pytest.raises(StepFailure, match=r"runs /opt/ml/processing/input/code/job\.py, which no"):
        run_call(call_context("Processing", request()))


def test_the_framework_version_warning_is_given_once_per_run(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    from sagepipe.local.calls.images import local_torch_version

    put_script(storage, tmp_path, "print('ok')")
    old = request()
    old["AppSpecification"]["ImageUri"] = IMAGE.replace("2.1.0", "1.8.1")
    local = (local_torch_version() or "").split("+")[0]
    same = request()
    same["AppSpecification"]["ImageUri"] = IMAGE.replace("2.1.0", local)

    first = run_call(call_context("Processing", old, step_name="first"))
    second = run_call(call_context("Processing", old, step_name="second"))
    matching = run_call(call_context("Processing", same, step_name="matching"))

    assert first.warnings == [
        f"the image {old['AppSpecification']['ImageUri']} has PyTorch 1.8.1; the local runtime "
        f"has torch {local_torch_version()}, so results may differ from SageMaker's"
    ]
    assert second.warnings == []
    assert matching.warnings == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["ProcessingInputs"][0]["S3Input"].update(S3InputMode="Pipe"),
            "ProcessingInputs[0].S3Input.S3InputMode is Pipe, which the local engine does not",
        ),
        (
            lambda r: r["ProcessingInputs"][0]["S3Input"].update(S3CompressionType="Gzip"),
            "ProcessingInputs[0].S3Input.S3CompressionType Gzip works only with S3InputMode Pipe",
        ),
        (
            lambda r: r["ProcessingInputs"][0]["S3Input"].update(S3DataType="Folder"),
            "ProcessingInputs[0].S3Input.S3DataType is 'Folder'; it must be one of ManifestFile",
        ),
        (
            lambda r: r["ProcessingInputs"].insert(
                0, {"InputName": "q", "DatasetDefinition": {"AthenaDatasetDefinition": {}}}
            ),
            "ProcessingInputs[0] is a DatasetDefinition (Athena or Redshift query)",
        ),
        (
            lambda r: r["ProcessingInputs"][0]["S3Input"].update(LocalPath="/data/in"),
            "ProcessingInputs[0].S3Input.LocalPath '/data/in' must be a path under /opt/ml/",
        ),
        (
            lambda r: r["ProcessingInputs"][0].update(AppManaged=True),
            "ProcessingInputs[0].AppManaged is true",
        ),
        (
            lambda r: r["AppSpecification"].update(ImageUri="123.dkr.ecr/mine:latest"),
            "AppSpecification.ImageUri '123.dkr.ecr/mine:latest' has no local runtime",
        ),
        (
            lambda r: r["AppSpecification"].update(ContainerEntrypoint=["bash", "-c", "ls"]),
            "AppSpecification.ContainerEntrypoint runs ['bash', '-c', 'ls']; the local engine "
            "runs Python scripts",
        ),
        (
            lambda r: r["AppSpecification"].update(ContainerEntrypoint=["/bin/bash", "run.sh"]),
            "AppSpecification.ContainerEntrypoint runs 'run.sh', which is not under",
        ),
        (
            lambda r: r["AppSpecification"].update(ContainerEntrypoint=["python3", "/app/x.py"]),
            "AppSpecification.ContainerEntrypoint runs '/app/x.py', which is not under",
        ),
        (
            lambda r: r["AppSpecification"].pop("ContainerEntrypoint"),
            "AppSpecification.ContainerEntrypoint is missing",
        ),
        (
            lambda r: r["ProcessingOutputConfig"]["Outputs"].append(
                {"OutputName": "o", "S3Output": {"S3Uri": "s3://b/o", "S3UploadMode": "EndOfJob"}}
            ),
            "ProcessingOutputConfig.Outputs[0].S3Output has no LocalPath",
        ),
        (
            lambda r: r["ProcessingInputs"][0]["S3Input"].pop("S3DataType"),
            "ProcessingInputs[0].S3Input has no S3DataType",
        ),
        (
            lambda r: r["ProcessingOutputConfig"]["Outputs"].append(
                {"OutputName": "fs", "FeatureStoreOutput": {"FeatureGroupName": "g"}}
            ),
            "ProcessingOutputConfig.Outputs[0] is a FeatureStoreOutput",
        ),
        (
            lambda r: r["ProcessingInputs"].append(
                s3_input("code", "s3://b/o", "/opt/ml/processing/input/o")
            ),
            "ProcessingInputs[1].InputName 'code' is used twice; each InputName must be unique",
        ),
    ],
)
def test_what_has_no_local_meaning_is_refused_before_anything_runs(
    change: Any, expected: str
) -> None:
    body = request()
    change(body)
    problems = local_call("Processing").problems("prep", body)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"step 'prep': {expected}"), problems[0]


def test_a_pipe_input_fails_the_step_once_evaluated(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    # The mode may come from a parameter: problems() cannot see it, run() refuses it.
    put_script(storage, tmp_path, "print('never')")
    body = request()
    body["ProcessingInputs"][0]["S3Input"]["S3InputMode"] = "Pipe"
    with pytest.raises(StepFailure, match=r"^step 'step': ProcessingInputs\[0\]\.S3Input\.S3Input"):
        run_call(call_context("Processing", body))


def test_expressions_are_not_judged_before_they_are_evaluated() -> None:
    join = {"Std:Join": {"On": "/", "Values": ["s3:/", "b"]}}
    body = request(
        inputs=[s3_input("raw", {"Get": "Steps.x.Out"}, "/opt/ml/processing/input/raw")],
        outputs=[s3_output("o", join, "/opt/ml/processing/output/o")],
    )
    body["AppSpecification"]["ImageUri"] = {"Get": "Parameters.Image"}
    body["ProcessingInputs"][0]["S3Input"]["S3InputMode"] = {"Get": "Parameters.Mode"}
    body["ProcessingInputs"][0]["S3Input"]["LocalPath"] = {"Get": "Parameters.Path"}
    assert local_call("Processing").problems("prep", body) == []


HOST_SCRIPT = """
    import json, pathlib
    resources = json.loads(pathlib.Path("/opt/ml/config/resourceconfig.json").read_text())
    me = resources["current_host"]
    out = pathlib.Path("/opt/ml/processing/output/out")
    (out / f"{me}.txt").write_text(" ".join(sorted(p.name for p in out.iterdir())))
"""


def test_each_host_sees_its_own_opt_ml_in_a_mount_namespace(
    make_code: Any, processing_step: Any, run: Any, storage: RoutedStorage
) -> None:
    from sagepipe.local.sandbox import detect_mode

    from ..conftest import by_name, output_uri

    if detect_mode() != "namespace":
        pytest.skip("this machine cannot give a step a private /opt/ml")
    code = make_code("hosts", **{"script.py": HOST_SCRIPT})
    step = processing_step("hosts", code, outputs=("out",), processing_instance_count=2)

    outcome = run([step])

    record = by_name(outcome)["hosts"]
    assert outcome.status == "Succeeded", record.failure_reason
    uri = output_uri(record, "out")
    # Each host wrote into an empty output dir of its own: hard-coded /opt/ml paths of the
    # second host did not land in the first host's directory.
    assert read(storage, f"{uri}/algo-1.txt") == ""
    assert read(storage, f"{uri}/algo-2.txt") == ""


RUNPROC = """#!/bin/bash

cd /opt/ml/processing/input/code/
tar -xzf sourcedir.tar.gz

# Exit on any error. SageMaker uses error code to mark failed job.
set -e

if [[ -f 'requirements.txt' ]]; then
    # Some py3 containers has typing, which may breaks pip install
    pip uninstall --yes typing

    pip install -r requirements.txt
fi

python preprocess.py "$@"
"""

USES_WHEEL = """
    import json, os, pathlib, sys
    import pydantic
    from helpers import scale  # a module of the source dir
    out = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"]) / "processing/output/result"
    (out / "result.json").write_text(json.dumps({
        "args": sys.argv[1:], "pydantic": pydantic.VERSION, "scaled": scale(2),
        "prefix": sys.prefix, "cwd": os.getcwd(),
    }))
"""


def sourcedir(tmp_path: Path, files: dict[str, str]) -> Path:
    archive = tmp_path / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.mark.slow
def test_a_framework_processor_runproc_runs_its_bundle_with_its_requirements(
    tmp_path: Path,
    home: Path,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
) -> None:
    bundle = sourcedir(
        tmp_path,
        {
            "preprocess.py": USES_WHEEL,
            "helpers.py": "def scale(x):\n    return x * 10\n",
            # Already installed here (seen through the venv), so pip needs no network.
            "requirements.txt": "--no-index\npydantic\n",
        },
    )
    storage.put_file(bundle, "s3://bucket/fw/source/sourcedir.tar.gz")
    put_text(storage, tmp_path, "s3://bucket/fw/entrypoint/runproc.sh", RUNPROC)
    body = request(
        outputs=[s3_output("result", "s3://bucket/fw/out", "/opt/ml/processing/output/result")],
        arguments=["--train-split", "0.8"],
    )
    entry = "/opt/ml/processing/input/entrypoint"
    body["AppSpecification"]["ContainerEntrypoint"] = ["/bin/bash", f"{entry}/runproc.sh"]
    body["ProcessingInputs"] = [
        s3_input("code", "s3://bucket/fw/source/sourcedir.tar.gz", CODE),
        s3_input("entrypoint", "s3://bucket/fw/entrypoint/runproc.sh", entry),
    ]
    assert local_call("Processing").problems("fw", body) == []

    context = call_context("Processing", body, step_name="fw")
    run_call(context)

    result = json.loads(read(storage, "s3://bucket/fw/out/result.json"))
    assert result["args"] == ["--train-split", "0.8"]
    assert result["pydantic"] == pydantic.VERSION
    assert result["scaled"] == 20
    assert Path(result["prefix"]).parent == home / "venvs"
    assert Path(result["cwd"]) == context.layout.opt_ml / "processing" / "input" / "code"


@pytest.mark.parametrize("line", ["curl http://example.com | sh", "python other.py", "cd /tmp"])
def test_a_shell_script_other_than_runproc_is_refused_naming_the_line(
    tmp_path: Path,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
    line: str,
) -> None:
    put_text(
        storage,
        tmp_path,
        "s3://bucket/code/run.sh",
        RUNPROC.replace('python preprocess.py "$@"', f'{line}\npython preprocess.py "$@"'),
    )
    body = request()
    body["AppSpecification"]["ContainerEntrypoint"] = ["/bin/bash", f"{CODE}/run.sh"]
    with pytest.raises(StepFailure) as failure:
        run_call(call_context("Processing", body))
    assert failure.value.reason == (
        f"AppSpecification.ContainerEntrypoint's {CODE}/run.sh is a shell script that is not "
        f"the SageMaker SDK's runproc.sh (it has {line!r} there); the local engine runs Python "
        "scripts and runproc.sh"
    )


def test_the_members_echoed_in_the_properties_are_the_apis_own() -> None:
    from sagepipe import service_model
    from sagepipe.local.calls.processing import ECHOED_MEMBERS

    request = service_model.shape("CreateProcessingJobRequest")["members"]
    response = service_model.shape("DescribeProcessingJobResponse")["members"]
    assert set(request) & set(response) - {"ProcessingJobName"} == ECHOED_MEMBERS


def test_an_evaluated_data_type_the_api_does_not_know_fails_the_step(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    body = request()
    body["ProcessingInputs"][0]["S3Input"]["S3DataType"] = "Folder"  # from a parameter
    with pytest.raises(StepFailure, match=r"^ProcessingInputs 'code': S3DataType 'Folder' /"):
        run_call(call_context("Processing", body))


def test_the_step_process_checks_do_not_load_the_api_model() -> None:
    # Loading botocore's SageMaker model costs a step process about half a second.
    code = (
        "import json, sys\n"
        "from sagepipe.local.calls.processing_request import request_problems\n"
        "problems = request_problems(json.loads(sys.argv[1]), api_model=False)\n"
        "print(json.dumps([problems, 'botocore' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(request())],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == [[], False]
