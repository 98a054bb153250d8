"""CreateProcessingJob run locally: the request's features for real (scripts, local store)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure
from sagepipe.storage import RoutedStorage

from .conftest import EXECUTION_ID, REGION, CallRunner, ContextFactory
from .processing_requests import (
    CODE,
    IMAGE,
    REPORT,
    put_script,
    put_text,
    read,
    request,
    s3_input,
    s3_output,
)


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
    network = {"EnableNetworkIsolation": True, "VpcConfig": {"SecurityGroupIds": ["sg-1"]}}
    body = request(outputs=outputs, Environment={"A": "1"}, NetworkConfig=network)
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
    assert properties["NetworkConfig"] == network  # accepted, no local meaning
    assert properties["RoleArn"] == "arn:aws:iam::123456789012:role/R"
    assert properties["ProcessingEndTime"] >= properties["ProcessingStartTime"]
    evaluation = EvaluationContext(parameters={}, properties={"p": properties})
    reference = {"Get": "Steps.p.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    assert evaluate(reference, evaluation, "a test") == "s3://bucket/out/test"
    by_index = {"Get": "Steps.p.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"}
    assert evaluate(by_index, evaluation, "a test") == "s3://bucket/out/train"


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
    script = """
        import signal, sys, time
        def stop(signum, frame):
            print("got SIGTERM: saving", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("sleeping", flush=True)
        time.sleep(60)
    """
    put_script(storage, tmp_path, script)
    body = request(StoppingCondition={"MaxRuntimeInSeconds": 1})
    context = call_context("Processing", body, step_name="slow")
    with pytest.raises(StepFailure) as failure:
        run_call(context)
    assert failure.value.reason == (
        f"MaxRuntimeExceeded: processing job slow-{EXECUTION_ID} ran longer than "
        "StoppingCondition.MaxRuntimeInSeconds=1 and was stopped"
    )
    # Stopped as SageMaker stops it: SIGTERM first, so the script could save its work.
    assert "sleeping\ngot SIGTERM: saving" in context.layout.log.read_text()


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


def test_the_members_echoed_in_the_properties_are_the_apis_own() -> None:
    from sagepipe import service_model
    from sagepipe.local.calls.processing import ECHOED_MEMBERS

    request = service_model.shape("CreateProcessingJobRequest")["members"]
    response = service_model.shape("DescribeProcessingJobResponse")["members"]
    assert set(request) & set(response) - {"ProcessingJobName"} == ECHOED_MEMBERS


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
