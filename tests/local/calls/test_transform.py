"""CreateTransformJob for real: a model created by CreateModel transforms the objects under
an S3 prefix (or listed by a manifest, gzipped or not) into <name>.out objects, with
SplitType, BatchStrategy, AssembleWith and DataProcessing (InputFilter, JoinSource,
OutputFilter) as SageMaker applies them; DescribeTransformJob-shaped properties."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure

from .models import BUCKET, Calls, model_request, put_model, put_text

MODEL = "scorer"


def create_model(calls: Calls, tmp_path: Path) -> None:
    request = {"ModelName": MODEL, **model_request(put_model(calls.storage, tmp_path))}
    local_call("Model").run(calls.context("Model", "Model", request))


def transform_request(source: str, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ModelName": MODEL,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"{BUCKET}/out",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 6,
        "MaxConcurrentTransforms": 1,
    }
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key] = {**request[key], **value}
        else:
            request[key] = value
    return request


def read(calls: Calls, uri: str) -> str:
    with calls.storage.open_read(uri) as reader:
        return reader.read().decode()


def test_csv_lines_with_filters_and_join(calls: Calls, tmp_path: Path) -> None:
    create_model(calls, tmp_path)
    put_text(calls.storage, tmp_path, "in/a.csv", b"7,1,2\n8,3,4\n")
    put_text(calls.storage, tmp_path, "in/sub/b.csv", b"9,5,6\n")
    # The id column is not sent; the output keeps the id and the prediction.
    request = transform_request(
        f"{BUCKET}/in",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )

    outcome = local_call("Transform").run(
        calls.context("Score", "Transform", request, job_name="pipelines-x-Score")
    )

    assert read(calls, f"{BUCKET}/out/a.csv.out") == "7,6.0\n8,14.0\n"
    assert read(calls, f"{BUCKET}/out/sub/b.csv.out") == "9,22.0\n"
    properties = outcome.properties
    assert properties["TransformJobName"] == "pipelines-x-Score"
    assert properties["TransformJobArn"].endswith(":transform-job/pipelines-x-score")
    assert properties["TransformJobStatus"] == "Completed"
    assert properties["ModelName"] == MODEL
    assert properties["TransformOutput"]["S3OutputPath"] == f"{BUCKET}/out"
    assert properties["DataProcessing"]["JoinSource"] == "Input"
    assert outcome.outputs == [{"uri": f"{BUCKET}/out", "objects": 2}]


def test_json_lines_with_filters_and_join(calls: Calls, tmp_path: Path) -> None:
    create_model(calls, tmp_path)
    rows = [{"id": 1, "features": [1, 2], "note": "a"}, {"id": 2, "features": [3], "note": "b"}]
    put_text(
        calls.storage,
        tmp_path,
        "json/rows.jsonl",
        "".join(json.dumps(r) + "\n" for r in rows).encode(),
    )
    request = transform_request(
        f"{BUCKET}/json",
        TransformInput={"ContentType": "application/jsonlines"},
        TransformOutput={"Accept": "application/json"},
        BatchStrategy="SingleRecord",
        DataProcessing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )

    local_call("Transform").run(calls.context("Score", "Transform", request))

    lines = read(calls, f"{BUCKET}/out/rows.jsonl.out").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "SageMakerOutput": [6.0]},
        {"id": 2, "SageMakerOutput": [6.0]},
    ]


def test_gzipped_objects_listed_by_a_manifest(calls: Calls, tmp_path: Path) -> None:
    create_model(calls, tmp_path)
    put_text(calls.storage, tmp_path, "gz/one.csv.gz", gzip.compress(b"1,1\n"))
    put_text(calls.storage, tmp_path, "gz/two.csv.gz", gzip.compress(b"2,2\n"))
    put_text(calls.storage, tmp_path, "gz/skipped.csv.gz", gzip.compress(b"9,9\n"))
    manifest = put_text(
        calls.storage,
        tmp_path,
        "manifest.json",
        json.dumps([{"prefix": f"{BUCKET}/gz/"}, "one.csv.gz", "two.csv.gz"]).encode(),
    )
    request = transform_request(
        manifest,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": manifest}},
            "CompressionType": "Gzip",
        },
        TransformOutput={"AssembleWith": "None"},
        BatchStrategy="SingleRecord",
    )

    outcome = local_call("Transform").run(calls.context("Score", "Transform", request))

    assert read(calls, f"{BUCKET}/out/one.csv.gz.out") == "4.0"
    assert read(calls, f"{BUCKET}/out/two.csv.gz.out") == "8.0"
    assert outcome.outputs[0]["objects"] == 2


def test_unknown_model_and_missing_input_name_the_field(calls: Calls, tmp_path: Path) -> None:
    with pytest.raises(StepFailure, match=r"ModelName 'scorer' is no model created"):
        local_call("Transform").run(
            calls.context("Score", "Transform", transform_request(f"{BUCKET}/in"))
        )
    create_model(calls, tmp_path)
    with pytest.raises(StepFailure) as failure:
        local_call("Transform").run(
            calls.context("Score", "Transform", transform_request(f"{BUCKET}/nothing"))
        )
    assert f"the transform input {BUCKET}/nothing does not exist" in str(failure.value)


def test_a_bad_filter_fails_the_job_with_its_reason(calls: Calls, tmp_path: Path) -> None:
    create_model(calls, tmp_path)
    put_text(calls.storage, tmp_path, "in/a.csv", b"1,2\n")
    request = transform_request(f"{BUCKET}/in", DataProcessing={"InputFilter": "$..deep"})

    with pytest.raises(StepFailure) as failure:
        local_call("Transform").run(calls.context("Score", "Transform", request))

    assert "InputFilter '$..deep' is not a supported JSONPath" in str(failure.value)


def test_problems_refuse_recordio() -> None:
    request = transform_request("s3://b/in", TransformInput={"SplitType": "RecordIO"})

    problems = local_call("Transform").problems("Score", request)

    assert problems == [
        "step 'Score': TransformInput.SplitType 'RecordIO' is not supported locally; use "
        "Line or None"
    ]
    assert local_call("Transform").problems("Score", transform_request("s3://b/in")) == []
