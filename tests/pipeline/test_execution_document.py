"""Execution documents: the template of per-step settings, and applying a filled-in one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sagepipe.definitions import ModelRegistrationPipeline
from sagepipe.pipeline import Pipeline
from sagepipe.pipeline.execution_document import (
    ExecutionDocumentError,
    apply_execution_document,
    execution_document_template,
    read_execution_document,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registration"
MODEL = "s3://my-bucket/models/model.tar.gz"
EAST, WEST = "Registration_us-east-1", "Registration_us-west-2"


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    target = tmp_path / "registration"
    shutil.copytree(EXAMPLE / "code", target / "code")
    # Two registration steps (the example registers in its own region only), so that a
    # setting can be shown to land in one step only.
    config = (EXAMPLE / "config.yaml").read_text()
    two_regions = config.replace("regions: [us-east-1]", "regions: [us-east-1, us-west-2]")
    assert two_regions != config
    (target / "config.yaml").write_text(two_regions)
    return ModelRegistrationPipeline(target / "config.yaml").generate_pipeline(MODEL)


def test_template_has_a_section_per_step_with_current_values(pipeline: Pipeline) -> None:
    template = execution_document_template(pipeline)

    assert template["pipeline"] == "bsm-pytorch-registration"
    assert list(template["steps"]) == ["Model", "Packaging", "Payload", EAST, WEST]
    assert template["steps"]["Model"] == {}
    assert template["steps"][EAST] == {
        "approval_status": "PendingManualApproval",
        "model_description": "Binary classifier over three numeric features.",
        "customer_metadata": {},
    }
    json.dumps(template)  # plain JSON


def test_filled_settings_land_in_that_step_only(pipeline: Pipeline) -> None:
    document = {
        "pipeline": "bsm-pytorch-registration",
        "steps": {
            WEST: {"approval_status": "Approved", "customer_metadata": {"owner": "ml"}},
            "Model": {},
        },
    }

    applied = apply_execution_document(pipeline, document)

    assert applied.step(WEST).config["approval_status"] == "Approved"
    assert applied.step(WEST).config["customer_metadata"] == {"owner": "ml"}
    assert applied.step(WEST).config["model_description"].startswith("Binary")
    assert applied.step(EAST).config == pipeline.step(EAST).config
    assert pipeline.step(WEST).config["approval_status"] == "PendingManualApproval"
    assert [s.name for s in applied.execution_order()] == [
        s.name for s in pipeline.execution_order()
    ]


def test_the_template_applied_as_written_changes_nothing(pipeline: Pipeline) -> None:
    applied = apply_execution_document(pipeline, execution_document_template(pipeline))

    assert applied.to_json() == pipeline.to_json()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"steps": {"Registration_eu-west-1": {}}}, "unknown step 'Registration_eu-west-1'"),
        (
            {"steps": {EAST: {"aproval_status": "Approved"}}},
            "has no setting 'aproval_status' (did you mean 'approval_status'?); it accepts: "
            "approval_status, model_description, customer_metadata",
        ),
        (
            {"steps": {"Packaging": {"compression_level": 1}}},
            "step 'Packaging' (PackagingStep) has no setting 'compression_level'; it accepts: "
            "none (leave its section empty)",
        ),
        ({"steps": {EAST: {"approval_status": "Maybe"}}}, "setting approval_status: Input"),
        ({"steps": {EAST: {"model_description": "x" * 1025}}}, "setting model_description"),
        ({"pipeline": "other", "steps": {}}, "is for pipeline 'other'"),
        ({"step": {}}, "unknown top-level keys ['step']"),
        ({"steps": {EAST: "Approved"}}, "the section must be an object"),
    ],
)
def test_mistakes_are_named(pipeline: Pipeline, document: dict[str, object], expected: str) -> None:
    with pytest.raises(ExecutionDocumentError) as caught:
        apply_execution_document(pipeline, document)

    assert expected in str(caught.value)


def test_reading_a_document(tmp_path: Path) -> None:
    path = tmp_path / "document.json"
    with pytest.raises(ExecutionDocumentError, match="does not exist"):
        read_execution_document(path)
    path.write_text("{not json")
    with pytest.raises(ExecutionDocumentError, match="is not valid JSON"):
        read_execution_document(path)
    path.write_text("[]")
    with pytest.raises(ExecutionDocumentError, match="must hold a JSON object"):
        read_execution_document(path)
    path.write_text('{"steps": {}}')
    assert read_execution_document(path) == {"steps": {}}
