"""CreateModel for real: the model record that `sagepipe serve MODEL_NAME`, transform jobs and
endpoints find, DescribeModel-shaped properties, and the refusals (several containers, other
images, code that the PyTorch inference container would not find)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.calls.smoke import local_server
from sagepipe.local.errors import StepFailure
from sagepipe.local.store import RunStore

from .models import IMAGE, TRAINING_IMAGE, Calls, model_request, put_model, put_text, tar_gz


def test_model_is_recorded_and_served_by_name(calls: Calls, tmp_path: Path) -> None:
    model_data = put_model(calls.storage, tmp_path)
    request = model_request(model_data, EXTRA="1")
    context = calls.context("Model", "Model", request, job_name="pipelines-abc-Model")

    outcome = local_call("Model").run(context)

    properties = outcome.properties
    assert properties["ModelName"] == "pipelines-abc-Model"
    assert properties["ModelArn"] == (
        "arn:aws:sagemaker:us-east-1:000000000000:model/pipelines-abc-model"
    )
    container = properties["PrimaryContainer"]
    assert container["Image"] == IMAGE and container["ModelDataUrl"] == model_data
    assert container["Environment"] == request["PrimaryContainer"]["Environment"]
    assert container["Mode"] == "SingleModel"
    assert properties["ExecutionRoleArn"] == request["ExecutionRoleArn"]
    assert outcome.warnings == []
    store = RunStore.open(calls.home)
    try:
        record = store.model("pipelines-abc-Model")
    finally:
        store.close()
    assert (record.image, record.model_data_url, record.step_name) == (IMAGE, model_data, "Model")
    assert record.environment["EXTRA"] == "1"
    # `sagepipe serve MODEL_NAME` serves the recorded model with its environment.
    assert invoke_by_name("pipelines-abc-Model", calls, tmp_path) == [6.0, 14.0]


def invoke_by_name(name: str, calls: Calls, tmp_path: Path) -> object:
    """`sagepipe serve NAME`'s answer to two CSV rows."""
    home = {"SAGEPIPE_HOME": str(calls.home)}
    with local_server(name, home, tmp_path / "serve.log") as (url, _):
        invocation = urllib.request.Request(
            f"{url}/invocations",
            data=b"1,2\n3,4",
            headers={"Content-Type": "text/csv", "Accept": "application/json"},
        )
        with urllib.request.urlopen(invocation, timeout=60) as response:
            return json.loads(response.read())


def test_one_container_in_containers_is_accepted(calls: Calls, tmp_path: Path) -> None:
    model_data = put_model(calls.storage, tmp_path)
    container = model_request(model_data)["PrimaryContainer"]
    request = {"Containers": [container]}
    assert local_call("CreateModel").problems("M", request) == []

    outcome = local_call("CreateModel").run(calls.context("M", "CreateModel", request))

    assert outcome.properties["Containers"][0]["ModelDataUrl"] == model_data
    assert "PrimaryContainer" not in outcome.properties


def test_problems_refuse_what_cannot_be_served() -> None:
    create = local_call("Model")
    container = {"Image": IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"}

    several = create.problems("M", {"Containers": [container, container]})
    training = create.problems("M", {"PrimaryContainer": {**container, "Image": TRAINING_IMAGE}})
    unknown = create.problems("M", {"PrimaryContainer": {**container, "Image": "me/my:latest"}})
    multi = create.problems("M", {"PrimaryContainer": {**container, "Mode": "MultiModel"}})
    missing = create.problems("M", {"ExecutionRoleArn": "arn"})
    expression = create.problems(
        "M", {"PrimaryContainer": {**container, "Image": {"Get": "Parameters.Image"}}}
    )

    assert len(several) == 1 and "Containers holds 2 containers" in several[0]
    assert len(training) == 1 and "pytorch-training image" in training[0]
    assert len(unknown) == 1 and "'me/my:latest' has no local runtime" in unknown[0]
    assert len(multi) == 1 and "Mode is 'MultiModel'" in multi[0]
    assert len(missing) == 1 and "no PrimaryContainer" in missing[0]
    assert expression == []
    for problem in [*several, *training, *unknown, *multi, *missing]:
        assert problem.startswith("step 'M': ") and "\n" not in problem


def test_code_only_in_an_s3_submit_directory_fails_with_the_toolkit_rule(
    calls: Calls, tmp_path: Path
) -> None:
    # The seed's case: the code is a sourcedir.tar.gz on S3, the archive has no code/.
    model_data = put_model(calls.storage, tmp_path, inference=None)
    sourcedir = f"{put_text(calls.storage, tmp_path, 'code/sourcedir.tar.gz', b'x')}"
    request = model_request(model_data, SAGEMAKER_SUBMIT_DIRECTORY=sourcedir)

    with pytest.raises(StepFailure) as failure:
        local_call("Model").run(calls.context("Model", "Model", request))

    reason = str(failure.value)
    assert f"the model data {model_data} has no code/inference.py" in reason
    assert f"SAGEMAKER_SUBMIT_DIRECTORY is {sourcedir}" in reason
    assert "/opt/ml/model/code" in reason and "repack" in reason
    assert "\n" not in reason


def test_code_in_the_archive_serves_whatever_the_submit_directory_says(
    calls: Calls, tmp_path: Path
) -> None:
    model_data = put_model(calls.storage, tmp_path)
    # No such object: serving it would fail, as the container never fetches it.
    request = model_request(model_data, SAGEMAKER_SUBMIT_DIRECTORY="s3://b/sourcedir.tar.gz")
    request["ModelName"] = "code-inside"

    outcome = local_call("Model").run(calls.context("Model", "Model", request))

    [warning] = outcome.warnings
    assert "s3://b/sourcedir.tar.gz is not read by the PyTorch inference container" in warning
    assert invoke_by_name("code-inside", calls, tmp_path) == [6.0, 14.0]


def test_missing_model_data_names_the_uri(calls: Calls) -> None:
    request = model_request("s3://sagepipe-local/nothing/model.tar.gz")

    with pytest.raises(StepFailure, match=r"s3://sagepipe-local/nothing/model.tar.gz"):
        local_call("Model").run(calls.context("Model", "Model", request))


def test_extra_top_directory_fails_with_the_fix(calls: Calls, tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "nested.tar.gz",
        {"my_model/weights.json": b"{}", "my_model/code/inference.py": b"x = 1\n"},
    )
    uri = "s3://sagepipe-local/calls/nested/model.tar.gz"
    calls.storage.put_file(archive, uri)

    with pytest.raises(StepFailure) as failure:
        local_call("Model").run(calls.context("Model", "Model", model_request(uri)))

    assert f"the model data {uri} is not a valid model archive" in str(failure.value)
    assert "tar" in str(failure.value)


def test_environment_must_be_strings(calls: Calls, tmp_path: Path) -> None:
    request = model_request(put_model(calls.storage, tmp_path))
    request["PrimaryContainer"]["Environment"]["WORKERS"] = 2

    with pytest.raises(StepFailure, match=r"PrimaryContainer.Environment must map names"):
        local_call("Model").run(calls.context("Model", "Model", request))
