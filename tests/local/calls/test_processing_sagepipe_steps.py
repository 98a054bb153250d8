"""sagepipe's own compiled Processing steps (preprocess, model repack, packaging, payload) run
through the local CreateProcessingJob with their compiled requests and uploaded bundles."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sagepipe.definitions import pipeline_from_config_file
from sagepipe.local.calls import local_call
from sagepipe.local.evaluation import EvaluationContext, evaluate
from sagepipe.sagemaker import CompiledPipeline, compile_pipeline
from sagepipe.sagemaker.target import CompileOptions
from sagepipe.storage import RoutedStorage

from .conftest import EXECUTION_ID, CallRunner, ContextFactory

EXAMPLE = Path(__file__).parents[3] / "examples" / "tabular" / "pipeline.yaml"
BUCKET = "example-bucket"
HYPERPARAMETERS = {
    "id_name": "penguin_id",
    "label_name": "is_male",
    "full_field_list": ["penguin_id", "species", "bill_length_mm", "is_male"],
    "tab_field_list": ["bill_length_mm"],
    "cat_field_list": ["species"],
}


@pytest.fixture(scope="module")
def compiled() -> CompiledPipeline:
    options = CompileOptions(role="arn:aws:iam::123456789012:role/R", bucket=BUCKET)
    return compile_pipeline(pipeline_from_config_file(EXAMPLE), options)


def upload_bundles(compiled: CompiledPipeline, storage: RoutedStorage, scratch: Path) -> None:
    """Put the compiled code bundles and local inputs into the store, as ``submit`` puts them
    on S3."""
    scratch.mkdir(parents=True, exist_ok=True)
    for upload in compiled.uploads:
        if upload.kind == "archive":
            items = [(upload.uri, upload.bundle.archive())]
        else:
            items = [
                (upload.uri + f.arcname, upload.bundle.content(f)) for f in upload.bundle.files
            ]
        for uri, data in items:
            local = scratch / "object"
            local.write_bytes(data)
            storage.put_file(local, uri)


def arguments(compiled: CompiledPipeline, step: str, properties: dict[str, Any]) -> Any:
    """The step's ``Arguments`` evaluated as the engine evaluates them."""
    definition: Any = json.loads(compiled.to_json())
    found = next(s for s in definition["Steps"] if s["Name"] == step)
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    context = EvaluationContext(
        parameters=parameters,
        properties=properties,
        execution={"PipelineExecutionId": EXECUTION_ID, "PipelineName": "tabular-demo"},
    )
    assert local_call("Processing").problems(step, found["Arguments"]) == []
    return evaluate(found["Arguments"], context, f"step {step!r}")


def model_archive(storage: RoutedStorage, scratch: Path, uri: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {
            "model.pth": b"weights",
            "hyperparameters.json": json.dumps(HYPERPARAMETERS).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    local = scratch / "model.tar.gz"
    local.write_bytes(buffer.getvalue())
    storage.put_file(local, uri)


def members(storage: RoutedStorage, uri: str) -> set[str]:
    with storage.open_read(uri) as handle, tarfile.open(fileobj=handle, mode="r:gz") as archive:
        return set(archive.getnames())


def test_the_example_processing_steps_run_from_their_compiled_requests(
    tmp_path: Path,
    compiled: CompiledPipeline,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
) -> None:
    upload_bundles(compiled, storage, tmp_path / "scratch")
    properties: dict[str, Any] = {}
    prefix = f"s3://{BUCKET}/tabular-demo/{EXECUTION_ID}"

    request = arguments(compiled, "preprocess", properties)
    properties["preprocess"] = run_call(
        call_context("Processing", request, "preprocess")
    ).properties
    processed = storage.list(f"{prefix}/preprocess/output/processed_data")
    assert {i.uri.rsplit("/", 2)[-2] for i in processed} >= {"train", "val", "test"}
    assert storage.list(f"{prefix}/preprocess/output/test_features")

    trained = f"s3://{BUCKET}/training/output/model.tar.gz"
    model_archive(storage, tmp_path, trained)
    properties["train"] = {"ModelArtifacts": {"S3ModelArtifacts": trained}}
    properties["model"] = {"PrimaryContainer": {"ModelDataUrl": trained}}

    request = arguments(compiled, "model-RepackModel", properties)
    run_call(call_context("Processing", request, "model-RepackModel"))
    repacked = f"{prefix}/model-RepackModel/output/packaged_model/model.tar.gz"
    assert {"model.pth", "hyperparameters.json", "code/inference.py"} <= members(storage, repacked)

    request = arguments(compiled, "packaging", properties)
    properties["packaging"] = run_call(call_context("Processing", request, "packaging")).properties
    packaged = f"{prefix}/packaging/output/packaged_model/model.tar.gz"
    assert "code/inference.py" in members(storage, packaged)

    request = arguments(compiled, "payload", properties)
    assert request["ProcessingInputs"][0]["S3Input"]["S3Uri"] == (
        f"{prefix}/packaging/output/packaged_model"
    )
    run_call(call_context("Processing", request, "payload"))
    payload = f"{prefix}/payload/output/payload_sample/payload.tar.gz"
    assert any(name.endswith(".csv") for name in members(storage, payload))
    assert storage.exists(f"{prefix}/payload/output/payload_sample/manifest.json")
