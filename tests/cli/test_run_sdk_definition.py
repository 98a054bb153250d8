"""``sagepipe run DEFINITION.json`` runs a PyTorch pipeline the SageMaker Python SDK 2.x wrote
itself, through the real entry point, after its code and data are copied into the local object
store with ``sagepipe s3 cp``.

The SDK runs in its own cached virtual environment against the moto server
(``tests/sagemaker/sdk_env.py``); the script is ``resources/sdk_pytorch/sdk_pipeline.py``:
Processing -> Training -> CreateModel -> RegisterModel -> Transform.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from tests.sagemaker.sdk_env import run_sdk_script

RESOURCES = Path(__file__).parent / "resources" / "sdk_pytorch"
BUCKET = "sdk-pytorch-bucket"
GROUP = "sdk-pytorch-models"
SOURCE_DIR = f"s3://{BUCKET}/code/sourcedir.tar.gz"
BATCH_INPUT = f"s3://{BUCKET}/batch/records.jsonl"
STEPS = {
    "Preprocess": "Processing",
    "Train": "Training",
    "CreateModel-CreateModel": "Model",
    "Register-RegisterModel": "RegisterModel",
    "BatchScore": "Transform",
}
BATCH_ROWS = [[0.5, 1.0], [1.0, 0.0], [-1.0, 2.0], [3.0, 1.5], [0.0, 0.0], [2.5, -1.0]]


@dataclass
class Execution:
    home: Path
    run: subprocess.CompletedProcess[str]
    document: dict[str, Any]

    def step(self, name: str) -> dict[str, Any]:
        return _by_name(self.document)[name]


def sagepipe(
    home: Path, *args: str, timeout: int = 120, s3: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI with ``home`` as SAGEPIPE_HOME; ``s3://`` URIs in its local object store, or
    in S3 with ``s3`` (the AWS variables that point at the moto server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SAGEPIPE_HOME=str(home), SAGEPIPE_STORAGE="local")
    if s3 is not None:
        env.update(s3, SAGEPIPE_STORAGE="s3")
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@dataclass
class SdkDefinitions:
    """What the SDK script wrote, in one run of the SDK's Python.

    Attributes:
        plain: The pipeline whose model code is inside model.tar.gz.
        repack: The same with the model's code given as ``entry_point`` and ``source_dir``.
        uploaded: What the SDK uploaded for the repack steps, copied from the moto server's
            bucket with ``sagepipe s3 cp --storage s3``.
    """

    plain: Path
    repack: Path
    uploaded: Path


@pytest.fixture(scope="module")
def sdk_definitions(
    request: pytest.FixtureRequest,
    moto_s3: str,
    s3_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> SdkDefinitions:
    work = tmp_path_factory.mktemp("sdk-pytorch")
    code = work / "model-code"
    code.mkdir()
    shutil.copy(RESOURCES / "jsonlines_handler.py", code)
    plain, repack = work / "definition.json", work / "repack.json"
    script = RESOURCES / "sdk_pipeline.py"
    run_sdk_script(request, moto_s3, work, script, str(plain), str(repack), str(code))
    uploaded = work / "uploaded"
    copy = ["s3", "cp", "--recursive", "--storage", "s3", f"s3://{BUCKET}", str(uploaded)]
    done = subprocess.run(
        [sys.executable, "-m", "sagepipe", *copy],
        env={**os.environ, **s3_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    ok(done)
    return SdkDefinitions(plain, repack, uploaded)


@pytest.fixture(scope="module")
def sdk_definition(sdk_definitions: SdkDefinitions) -> Path:
    return sdk_definitions.plain


def _sourcedir(work: Path) -> Path:
    archive = work / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("train.py", "jsonlines_handler.py"):
            tar.add(RESOURCES / name, arcname=name)
    return archive


def _raw_rows(work: Path) -> Path:
    raw = work / "raw"
    raw.mkdir()
    for part in range(2):
        with (raw / f"part-{part}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["x1", "x2", "y"])
            for i in range(20):
                x1, x2 = (i - 10) / 5, (part * 20 + i) % 7 / 3
                writer.writerow([x1, x2, 2 * x1 - x2 + 0.5])
    return raw


def stage(home: Path, *, sourcedir: bool = True, s3: dict[str, str] | None = None) -> Path:
    """Lay out the code and data the definition references as its bucket holds them, and copy
    that tree into the home's local store (or S3) with one ``sagepipe s3 cp --recursive``;
    returns the staging directory."""
    work = home.parent / "staging"
    bucket = work / BUCKET
    (bucket / "code").mkdir(parents=True)
    shutil.copy(RESOURCES / "preprocess.py", bucket / "code")
    if sourcedir:
        _sourcedir(bucket / "code")
    _raw_rows(bucket)
    (bucket / "batch").mkdir()
    records = "".join(json.dumps({"features": row}) + "\n" for row in BATCH_ROWS)
    (bucket / "batch" / "records.jsonl").write_text(records)
    copied = ok(sagepipe(home, "s3", "cp", "--recursive", str(bucket), f"s3://{BUCKET}", s3=s3))
    for uri in (f"s3://{BUCKET}/code/preprocess.py", BATCH_INPUT, f"s3://{BUCKET}/raw/part-1.csv"):
        assert f" to {uri}\n" in copied, copied
    return work


def execution_id(stdout: str) -> str:
    found = re.search(r"execution (\S+)", stdout)
    assert found is not None, stdout
    return found.group(1)


def show(home: Path, execution: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        ok(sagepipe(home, "executions", "show", execution, "--json"))
    )
    return document


def run_definition(
    home: Path, definition: Path, *params: str, s3: dict[str, str] | None = None
) -> Execution:
    # Named as the SDK's pipeline: a bare definition's file stem is the pipeline name.
    target = home.parent / "sdk-pytorch.json"
    target.write_text(definition.read_text())
    args = [arg for param in params for arg in ("--param", param)]
    done = sagepipe(home, "run", str(target), *args, timeout=240, s3=s3)
    return Execution(home, done, show(home, execution_id(done.stdout + done.stderr)))


@pytest.fixture(scope="module")
def executed(sdk_definition: Path, tmp_path_factory: pytest.TempPathFactory) -> Execution:
    home = tmp_path_factory.mktemp("sdk-run") / "home"
    stage(home)
    return run_definition(home, sdk_definition, "Epochs=2", "ApprovalStatus=Approved")


def output_uri(step: dict[str, Any], name: str) -> str:
    """A processing step's output URI from its DescribeProcessingJob-shaped properties (the
    ``Outputs`` list, each with its ``OutputName``)."""
    outputs = step["properties"]["ProcessingOutputConfig"]["Outputs"]
    uris = [o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == name]
    assert len(uris) == 1, outputs
    uri: str = uris[0]
    return uri.rstrip("/")


def download(home: Path, uri: str, s3: dict[str, str] | None = None) -> Path:
    target = home.parent / "downloads" / uri.removeprefix("s3://")
    target.parent.mkdir(parents=True, exist_ok=True)
    ok(sagepipe(home, "s3", "cp", uri, str(target), s3=s3))
    return target


@pytest.mark.slow
def test_the_sdk_definition_is_read_checked_and_runnable_here(sdk_definition: Path) -> None:
    from sagepipe.local.calls import local_call
    from sagepipe.local.definition.checks import check_definition
    from sagepipe.local.definition.parameters import bind_parameters
    from sagepipe.local.definition.reading import read_definition

    definition = read_definition(sdk_definition)
    graph = check_definition(definition)
    assert graph.dependencies == {
        "Preprocess": frozenset(),
        "Train": frozenset({"Preprocess"}),
        "CreateModel-CreateModel": frozenset({"Train"}),
        "Register-RegisterModel": frozenset({"Train"}),
        "BatchScore": frozenset({"CreateModel-CreateModel"}),
    }
    assert bind_parameters(definition, {"Epochs": "2", "ApprovalStatus": "Approved"}) == {
        "InputData": f"s3://{BUCKET}/raw",
        "Epochs": 2,
        "ApprovalStatus": "Approved",
    }
    steps = {p.step.Name: p.step for p in definition.placed_steps()}
    assert {name: step.Type for name, step in steps.items()} == STEPS
    for name, step in steps.items():
        assert local_call(step.Type).problems(name, step.Arguments) == [], name


@pytest.mark.slow
def test_every_step_of_the_sdk_pipeline_succeeds(executed: Execution) -> None:
    assert executed.run.returncode == 0, executed.run.stdout[-4000:] + executed.run.stderr[-4000:]
    assert executed.document["status"] == "Succeeded"
    assert executed.document["pipeline_name"] == "sdk-pytorch"
    assert executed.document["parameters"]["Epochs"] == 2
    statuses = {s["name"]: (s["step_type"], s["status"]) for s in executed.document["steps"]}
    assert statuses == {name: (kind, "Succeeded") for name, kind in STEPS.items()}
    # Three steps run on PyTorch 2.1 images: a different local torch is one warning a run.
    summary = executed.run.stdout.split("\n\n", 1)[-1]
    warned = [line for line in summary.splitlines() if "warning:" in line and "PyTorch" in line]
    local_torch = version("torch").split(".")[:2]
    assert len(warned) == (0 if local_torch == ["2", "1"] else 1), summary


@pytest.mark.slow
def test_the_training_job_writes_model_and_code_into_model_tar_gz(executed: Execution) -> None:
    train = executed.step("Train")["properties"]
    assert train["HyperParameters"]["epochs"] == "2"
    artifact = train["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact.startswith(f"s3://{BUCKET}/models/") and artifact.endswith("/model.tar.gz")
    with tarfile.open(download(executed.home, artifact)) as tar:
        names = {m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()}
        epochs = json.loads(tar.extractfile(_member(tar, "epochs.json")).read())  # type: ignore[union-attr]
    assert {"model.pt", "epochs.json", "code/jsonlines_handler.py", "code/inference.py"} <= names
    assert epochs == {"epochs": 2}
    # The channels came from the processing outputs: both splits of the 40 rows were read.
    preprocess = executed.step("Preprocess")
    # The SDK's output URI joins the execution id (Execution.PipelineExecutionId).
    execution = executed.document["execution_id"]
    prefix = f"s3://{BUCKET}/sdk-pytorch/{execution}/Preprocess/output"
    assert output_uri(preprocess, "train") == f"{prefix}/train"
    train_channel = train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert train_channel.rstrip("/") == f"{prefix}/train"
    train_rows = download(executed.home, output_uri(preprocess, "train") + "/train.jsonl")
    test_rows = download(executed.home, output_uri(preprocess, "test") + "/test.jsonl")
    assert len(train_rows.read_text().splitlines()) == 30
    assert len(test_rows.read_text().splitlines()) == 10


@pytest.mark.slow
def test_the_model_version_is_registered_with_the_approval_status_given(
    executed: Execution,
) -> None:
    lines = ok(sagepipe(executed.home, "registry", "versions", GROUP)).splitlines()
    assert len(lines) == 1, lines
    version, status, *_, arn = lines[0].split()
    assert (version, status) == ("1", "Approved")
    package = json.loads(ok(sagepipe(executed.home, "registry", "show", arn)))
    container = package["InferenceSpecification"]["Containers"][0]
    artifact = executed.step("Train")["properties"]["ModelArtifacts"]["S3ModelArtifacts"]
    assert container["ModelDataUrl"] == artifact
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "jsonlines_handler.py"


@pytest.mark.slow
def test_the_transform_writes_one_prediction_per_input_line(executed: Execution) -> None:
    import torch

    output = download(executed.home, f"s3://{BUCKET}/scores/records.jsonl.out")
    predictions = [json.loads(line)["prediction"] for line in output.read_text().splitlines()]
    artifact = executed.step("Train")["properties"]["ModelArtifacts"]["S3ModelArtifacts"]
    with tarfile.open(download(executed.home, artifact)) as tar:
        state = torch.load(
            io.BytesIO(tar.extractfile(_member(tar, "model.pt")).read()),  # type: ignore[union-attr]
            weights_only=True,
        )
    model = torch.nn.Linear(2, 1)
    model.load_state_dict(state)
    with torch.no_grad():
        expected = model(torch.tensor(BATCH_ROWS))[:, 0].tolist()
    assert predictions == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_a_get_to_a_missing_step_is_refused_before_anything_runs(
    sdk_definition: Path, tmp_path: Path
) -> None:
    raw = json.loads(sdk_definition.read_text())
    train = next(s for s in raw["Steps"] if s["Name"] == "Train")
    source = train["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source["S3Uri"]["Get"] = source["S3Uri"]["Get"].replace("Steps.Preprocess.", "Steps.Prepare.")
    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps(raw))
    home = tmp_path / "home"
    done = sagepipe(home, "run", str(definition))
    assert done.returncode == 2, done.stdout + done.stderr
    error = done.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert "'Train'" in error and "step 'Prepare' is not in the definition" in error
    listing = ok(sagepipe(home, "executions", "list"))
    assert listing.startswith("no executions yet"), listing


@pytest.mark.slow
def test_a_parameter_of_the_wrong_type_is_refused(sdk_definition: Path, tmp_path: Path) -> None:
    definition = tmp_path / "definition.json"
    definition.write_text(sdk_definition.read_text())
    done = sagepipe(tmp_path / "home", "run", str(definition), "--param", "Epochs=two")
    assert done.returncode == 2, done.stdout + done.stderr
    error = done.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert "Epochs" in error and "Integer" in error


@pytest.mark.slow
def test_a_missing_source_dir_fails_the_training_step_naming_the_uri_then_resumes(
    sdk_definition: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    work = stage(home, sourcedir=False)
    failed = run_definition(home, without_registration(sdk_definition, tmp_path), "Epochs=2")
    assert failed.run.returncode == 1, failed.run.stdout + failed.run.stderr
    assert "Traceback" not in failed.run.stderr, failed.run.stderr
    assert failed.document["status"] == "Failed"
    statuses = {s["name"]: s["status"] for s in failed.document["steps"]}
    ran = {name: status for name, status in statuses.items() if status != "NotRun"}
    assert ran == {"Preprocess": "Succeeded", "Train": "Failed"}, statuses
    reason = failed.step("Train")["failure_reason"]
    assert SOURCE_DIR in reason and "sagemaker_submit_directory" in reason, reason
    assert SOURCE_DIR in failed.document["failure_reason"]
    # The earlier step's outputs stay in the store.
    uri = output_uri(failed.step("Preprocess"), "train")
    assert download(home, uri + "/train.jsonl").read_text().count("\n") == 30
    # Once the code is there, --resume runs the failed and not-run steps only.
    ok(sagepipe(home, "s3", "cp", str(_sourcedir(work)), SOURCE_DIR))
    execution = failed.document["execution_id"]
    ok(sagepipe(home, "run", "--resume", execution, timeout=240))
    resumed = show(home, execution)
    assert resumed["status"] == "Succeeded"
    resumed_steps = {s["name"]: s["status"] for s in resumed["steps"]}
    assert resumed_steps == {name: "Succeeded" for name in STEPS if "Register" not in name}
    before, after = failed.step("Preprocess"), _by_name(resumed)["Preprocess"]
    assert after["start_time"] == before["start_time"]


@pytest.mark.slow
def test_a_model_with_an_entry_point_runs_the_sdk_repack_steps(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from sagepipe.local.sandbox import detect_mode

    if detect_mode() != "namespace":
        pytest.skip("the SDK's _repack_model.py reads /opt/ml/...; no private /opt/ml here")
    written: SdkDefinitions = request.getfixturevalue("sdk_definitions")
    raw = json.loads(written.repack.read_text())
    names = {step["Name"] for step in raw["Steps"]}
    assert {"CreateModel-RepackModel-0", "Register-RepackModel-0"} <= names, names
    definition = without_registration(written.repack, tmp_path)
    home = tmp_path / "home"
    stage(home)
    ok(sagepipe(home, "s3", "cp", "--recursive", str(written.uploaded), f"s3://{BUCKET}"))
    repacked = run_definition(home, definition, "Epochs=2")
    assert repacked.run.returncode == 0, repacked.run.stdout[-4000:] + repacked.run.stderr
    statuses = {s["name"]: (s["step_type"], s["status"]) for s in repacked.document["steps"]}
    assert statuses == {
        "Preprocess": ("Processing", "Succeeded"),
        "Train": ("Training", "Succeeded"),
        "CreateModel-RepackModel-0": ("Training", "Succeeded"),
        "CreateModel-CreateModel": ("Model", "Succeeded"),
        "BatchScore": ("Transform", "Succeeded"),
    }
    artifact = repacked.step("CreateModel-RepackModel-0")["properties"]["ModelArtifacts"]
    container = repacked.step("CreateModel-CreateModel")["properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == artifact["S3ModelArtifacts"]
    with tarfile.open(download(home, artifact["S3ModelArtifacts"])) as tar:
        names = {m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()}
    # The trained model, with code/ replaced by the source_dir (train.py's decoy is gone).
    assert {"model.pt", "epochs.json", "code/jsonlines_handler.py"} <= names, names
    assert "code/inference.py" not in names, names
    output = download(home, f"s3://{BUCKET}/scores/records.jsonl.out")
    assert len(output.read_text().splitlines()) == len(BATCH_ROWS)


@pytest.mark.slow
def test_the_sdk_pipeline_runs_on_s3_with_storage_s3(
    sdk_definition: Path, s3_env: dict[str, str], tmp_path: Path
) -> None:
    import boto3

    # The moto server stands in for S3; the SDK script created the bucket there already,
    # unless this test runs alone.
    client = boto3.client("s3", **_client_options(s3_env))
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    home = tmp_path / "home"
    stage(home, s3=s3_env)
    definition = without_registration(sdk_definition, tmp_path)
    ran = run_definition(home, definition, "Epochs=2", s3=s3_env)
    assert ran.run.returncode == 0, ran.run.stdout[-4000:] + ran.run.stderr
    assert ran.document["storage"] == "s3"
    ran_steps = {s["name"]: s["status"] for s in ran.document["steps"]}
    assert ran_steps == {name: "Succeeded" for name in STEPS if "Register" not in name}
    artifact = ran.step("Train")["properties"]["ModelArtifacts"]["S3ModelArtifacts"]
    key = artifact.removeprefix(f"s3://{BUCKET}/")
    assert client.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0
    scores = client.get_object(Bucket=BUCKET, Key="scores/records.jsonl.out")["Body"].read()
    assert len(scores.decode().splitlines()) == len(BATCH_ROWS)
    # Nothing went to the local object store.
    local = home / "objects"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))


def without_registration(definition: Path, directory: Path) -> Path:
    """A copy of the SDK's definition without its RegisterModel step (and the repack step
    that feeds it): tests that need no registry save a model server's start."""
    raw = json.loads(definition.read_text())
    raw["Steps"] = [step for step in raw["Steps"] if not step["Name"].startswith("Register-")]
    target = directory / "without-registration.json"
    target.write_text(json.dumps(raw))
    return target


def _client_options(env: dict[str, str]) -> dict[str, str]:
    return {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": env["AWS_SESSION_TOKEN"],
    }


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    for member in tar.getmembers():
        if member.name.removeprefix("./") == name:
            return member
    raise AssertionError(f"{name} not in {tar.getnames()}")


@pytest.mark.slow
def test_a_transform_whose_model_fails_to_load_names_the_error_in_one_line(
    sdk_definition: Path, tmp_path: Path
) -> None:
    import torch

    # The SDK's CreateModel and Transform steps alone, on a model.tar.gz made here whose
    # SAGEMAKER_PROGRAM is a script that raises when imported.
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    torch.save(torch.nn.Linear(2, 1).state_dict(), model_dir / "model.pt")
    (model_dir / "code" / "broken.py").write_text("raise RuntimeError('handler broken here')\n")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir, arcname=".")
    home = tmp_path / "home"
    model_uri = f"s3://{BUCKET}/static/model.tar.gz"
    ok(sagepipe(home, "s3", "cp", str(archive), model_uri))
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"features": [1.0, 2.0]}) + "\n")
    ok(sagepipe(home, "s3", "cp", str(records), BATCH_INPUT))
    raw = json.loads(sdk_definition.read_text())
    raw["Steps"] = [s for s in raw["Steps"] if s["Type"] in ("Model", "Transform")]
    container = raw["Steps"][0]["Arguments"]["PrimaryContainer"]
    container["ModelDataUrl"] = model_uri
    container["Environment"]["SAGEMAKER_PROGRAM"] = "broken.py"
    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps(raw))
    done = sagepipe(home, "run", str(definition))
    assert done.returncode == 1, done.stdout + done.stderr
    document = show(home, execution_id(done.stdout))
    statuses = {s["name"]: s["status"] for s in document["steps"]}
    assert statuses == {"CreateModel-CreateModel": "Succeeded", "BatchScore": "Failed"}
    # The reason's first line says what went wrong; the worker's traceback follows it.
    first = document["failure_reason"].splitlines()[0]
    assert "Traceback" not in first and "RuntimeError: handler broken here" in first, first
    summary = [
        line for line in done.stdout.splitlines() if re.match(r"execution \S+: Failed", line)
    ]
    assert len(summary) == 1 and "handler broken here" in summary[0], done.stdout
    assert "Traceback" not in summary[0], summary


def _by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in document["steps"]}
