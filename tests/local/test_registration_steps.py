"""Packaging -> payload -> registration through the engine: sample payloads that the tabular
example's own server accepts, the smoke test (and its failure), the registry record, per-region
registration, no caching of registration, and execution documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sagepipe.config import PackagingConfig, PayloadConfig, RegistrationConfig
from sagepipe.config.hyperparameters import ModelHyperparameters
from sagepipe.local.store import RunStore
from sagepipe.pipeline import Pipeline, Step
from sagepipe.pipeline.execution_document import ExecutionDocumentError, apply_execution_document
from sagepipe.registry import LocalRegistry
from sagepipe.steps import PackagingStepBuilder, PayloadStepBuilder, RegistrationStepBuilder
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, by_name, output_uri
from .test_model_steps import tar_gz

TABULAR = Path(__file__).resolve().parents[2] / "examples" / "tabular"
FIELDS = ModelHyperparameters(
    id_name="id",
    label_name="label",
    full_field_list=["id", "label", "x1", "x2"],
    tab_field_list=["x1", "x2"],
)
FAILING_INFERENCE = """
def model_fn(model_dir):
    return "model"

def input_fn(body, content_type):
    return body

def predict_fn(data, model):
    raise RuntimeError("no predictions today")

def output_fn(prediction, accept):
    return "[]"
"""
ECHO_INFERENCE = FAILING_INFERENCE.replace(
    'raise RuntimeError("no predictions today")', "return data"
)


@pytest.fixture(scope="module")
def tabular_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tabular example's model, trained for real (3 epochs), as a model.tar.gz."""
    root = tmp_path_factory.mktemp("tabular")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SAGEPIPE_OPT_ML": str(root)}
    code = TABULAR / "code"
    raw = str(TABULAR / "data")
    subprocess.run(
        [sys.executable, str(code / "preprocess.py"), "--input-dir", raw], env=env, check=True
    )
    hyperparameters = {
        "id_name": "penguin_id",
        "label_name": "is_male",
        "full_field_list": '["penguin_id","species","island","bill_length_mm","bill_depth_mm",'
        '"flipper_length_mm","body_mass_g","year","is_male"]',
        "tab_field_list": '["bill_length_mm","bill_depth_mm","flipper_length_mm",'
        '"body_mass_g","year"]',
        "cat_field_list": '["species","island"]',
        "epochs": "3",
    }
    arguments = [item for key, value in hyperparameters.items() for item in (f"--{key}", value)]
    env.update(
        SM_CHANNEL_DATA=str(root / "processing" / "output" / "processed_data"),
        SM_MODEL_DIR=str(root / "model"),
        SM_OUTPUT_DATA_DIR=str(root / "output" / "data"),
        SM_OUTPUT_DIR=str(root / "output"),
        SM_NUM_GPUS="0",
    )
    subprocess.run(
        [sys.executable, str(code / "train.py"), *arguments],
        env=env,
        check=True,
        capture_output=True,
    )
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((root / "model").iterdir()):
            tar.add(path, arcname=path.name)
    return archive


def chain(
    model_uri: str,
    code: Path,
    payload: PayloadConfig,
    registration: dict[str, Any],
    metrics: Any = None,
) -> list[Step]:
    """Packaging -> payload -> registration (one step per region) of ``model_uri``."""
    packaging = PackagingStepBuilder(PackagingConfig(source_dir=str(code))).create_step(
        name="Packaging", inputs={"model_input": model_uri}
    )
    sample = PayloadStepBuilder(payload).create_step([packaging], name="Payload")
    inputs = {"metrics": metrics} if metrics is not None else None
    registrations = RegistrationStepBuilder(
        RegistrationConfig(framework_version="2.1.0", py_version="py310", **registration)
    ).create_steps([packaging, sample], name="Registration", inputs=inputs)
    return [packaging, sample, *registrations]


@pytest.mark.slow
def test_tabular_samples_pass_the_smoke_test_and_register(
    tabular_model: Path, run: Runner, home: Path, storage: RoutedStorage, tmp_path: Path
) -> None:
    steps = chain(
        str(tabular_model),
        TABULAR / "code",
        PayloadConfig(sample_count=2, field_defaults={"species": "adelie", "year": 2008}),
        {
            "model_package_group_name": "penguins",
            "response_types": ["application/json", "text/csv"],
            "customer_metadata": {"team": "ml"},
            "model_description": "penguins",
        },
    )

    outcome = run(steps)

    records = by_name(outcome)
    registration = records["Registration"]
    assert outcome.status == "Succeeded", registration.failure_reason
    payload_prefix = output_uri(records["Payload"], "payload_sample")
    manifest = json.loads(storage.open_read(f"{payload_prefix}/manifest.json").read())
    assert [s["content_type"] for s in manifest["samples"]] == ["text/csv", "application/json"]
    assert manifest["samples"][0]["fields"][0] == "penguin_id"  # from hyperparameters.json
    log = Path(registration.log_path).read_text()
    assert log.count("sample payload") >= 2
    assert "text/csv sample payload" in log and "application/json sample payload" in log

    arn = registration.properties["ModelPackageArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:model-package/penguins/1"
    assert registration.properties["ModelPackageVersion"] == 1
    package = LocalRegistry(home / "registry.db").describe(arn)
    container = package.inference_specification.containers[0]
    packaged_prefix = output_uri(records["Packaging"], "packaged_model")
    assert container.model_data_url == f"{packaged_prefix}/model.tar.gz"
    assert container.image.endswith("pytorch-inference:2.1.0-cpu-py310")
    assert container.environment["SAGEMAKER_PROGRAM"] == "inference.py"
    assert package.sample_payload_url == f"{payload_prefix}/payload.tar.gz"
    assert package.customer_metadata_properties == {"team": "ml"}
    assert package.inference_specification.supported_content_types == (
        "text/csv",
        "application/json",
    )
    assert package.model_approval_status == "PendingManualApproval"


def test_failing_predict_fn_fails_registration_and_registers_nothing(
    tmp_path: Path, make_code: CodeFactory, run: Runner, home: Path
) -> None:
    code = make_code("failing", **{"inference.py": FAILING_INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"weights.bin": b"w"})
    steps = chain(
        str(archive),
        code,
        PayloadConfig(hyperparameters=FIELDS),
        {"model_package_group_name": "broken"},
    )

    outcome = run(steps)

    registration = by_name(outcome)["Registration"]
    assert outcome.status == "Failed"
    reason = registration.failure_reason
    assert "smoke test" in reason
    assert "text/csv sample payload" in reason
    assert "HTTP 5" in reason
    assert "no predictions today" in reason
    assert LocalRegistry(home / "registry.db").list_groups() == []
    # The server was stopped: its log says so and ends the step log's copy of it.
    assert "serve | sagepipe serve: stopped" in Path(registration.log_path).read_text()


def test_an_unchanged_registration_is_cached(
    tmp_path: Path, make_code: CodeFactory, run: Runner, home: Path, storage: RoutedStorage
) -> None:
    code = make_code("echo", **{"inference.py": ECHO_INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"weights.bin": b"w"})
    steps = chain(
        str(archive),
        code,
        PayloadConfig(hyperparameters=FIELDS),
        {
            "model_package_group_name": "echo",
            "skip_smoke_test": True,
        },
    )

    first = run(steps)
    again = run(steps)
    registry = LocalRegistry(home / "registry.db")
    # An unchanged package is not registered twice: the cached step reuses the version.
    assert [v.model_package_version for v in registry.list_versions("echo", "us-east-1")] == [1]
    forced = run(steps, use_cache=False)

    assert first.status == again.status == forced.status == "Succeeded"
    assert {s.name: s.status for s in again.steps} == {
        "Packaging": "Cached",
        "Payload": "Cached",
        "Registration": "Cached",
    }
    assert {s.status for s in forced.steps} == {"Succeeded"}
    versions = registry.list_versions("echo", "us-east-1")
    assert [v.model_package_version for v in versions] == [1, 2]
    log = Path(by_name(first)["Registration"].log_path).read_text()
    assert "smoke test skipped" in log


def test_payload_without_field_lists_fails_clearly(
    tmp_path: Path, make_code: CodeFactory, run: Runner
) -> None:
    code = make_code("echo", **{"inference.py": ECHO_INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"weights.bin": b"w"})
    steps = chain(str(archive), code, PayloadConfig(), {"model_package_group_name": "x"})

    outcome = run(steps)

    reason = by_name(outcome)["Payload"].failure_reason
    # (the compiled payload job's container script says it)
    assert "the model archive has no hyperparameters.json" in reason
    assert by_name(outcome)["Registration"].status == "NotRun"


def test_execution_document_settings_reach_the_registry(
    tmp_path: Path, make_code: CodeFactory, home: Path, run: Runner
) -> None:
    code = make_code("echo", **{"inference.py": ECHO_INFERENCE})
    archive = tar_gz(tmp_path / "model.tar.gz", {"weights.bin": b"w"})
    steps = chain(
        str(archive),
        code,
        PayloadConfig(hyperparameters=FIELDS),
        {"model_package_group_name": "documented", "skip_smoke_test": True},
    )
    pipeline = Pipeline("documented", steps, root=tmp_path)
    document = {
        "steps": {
            "Registration": {
                "approval_status": "Approved",
                "customer_metadata": {"ticket": "ML-42"},
            }
        }
    }

    outcome = run(apply_execution_document(pipeline, document))

    assert outcome.status == "Succeeded"
    arn = by_name(outcome)["Registration"].properties["ModelPackageArn"]
    package = LocalRegistry(home / "registry.db").describe(arn)
    assert package.model_approval_status == "Approved"
    assert package.customer_metadata_properties == {"ticket": "ML-42"}
    store = RunStore.open(home)
    try:
        recorded = Pipeline.from_json(store.execution(outcome.execution_id).ir_json, tmp_path)
    finally:
        store.close()
    assert recorded.step("Registration").config["approval_status"] == "Approved"

    bad = {"steps": {"Registraton": {}, "Payload": {"approval_status": "Approved"}}}
    with pytest.raises(ExecutionDocumentError) as caught:
        apply_execution_document(pipeline, bad)
    message = str(caught.value)
    assert "unknown step 'Registraton' (did you mean 'Registration'?)" in message
    assert "step 'Payload' (PayloadStep) has no setting 'approval_status'" in message
