"""A definition the SageMaker Python SDK 2.257.7 writes itself (control flow, property files,
every parameter type) is read, checked and ordered. The SDK runs in its own cached virtual
environment (``tests/sagemaker/sdk_env.py``) against the moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.sagemaker.sdk_env import run_sdk_script

from sagepipe.local.definition.checks import check_definition
from sagepipe.local.definition.parameters import bind_parameters
from sagepipe.local.definition.reading import read_definition

SCRIPT = Path(__file__).parent / "resources" / "sdk_control_flow.py"


@pytest.fixture(scope="module")
def sdk_written(
    request: pytest.FixtureRequest, moto_s3: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    work = tmp_path_factory.mktemp("sdk-control-flow")
    out = work / "definition.json"
    run_sdk_script(request, moto_s3, work, SCRIPT, str(out))
    return out


@pytest.mark.slow
def test_the_sdk_definition_reads_back_unchanged(sdk_written: Path) -> None:
    raw: dict[str, Any] = json.loads(sdk_written.read_text())
    definition = read_definition(sdk_written)
    dumped = json.loads(json.dumps(definition.model_dump(mode="json", exclude_unset=True)))
    assert dumped == raw
    types = {p.step.Name: p.step.Type for p in definition.placed_steps()}
    assert types == {
        "Preprocess": "Processing",
        "Train": "Training",
        "Evaluate": "Processing",
        "CheckAccuracy": "Condition",
        "Register-RegisterModel": "RegisterModel",
        "CreateModel-CreateModel": "Model",
        "CheckBatch": "Condition",
        "BatchScore": "Transform",
        "AccuracyTooLow": "Fail",
        "Report": "Processing",
    }


@pytest.mark.slow
def test_the_sdk_definition_passes_the_checks_and_orders_its_branches(sdk_written: Path) -> None:
    definition = read_definition(sdk_written)
    graph = check_definition(definition)
    assert graph.dependencies["CheckAccuracy"] == frozenset({"Evaluate"})
    assert graph.dependencies["BatchScore"] == frozenset({"CheckBatch", "CreateModel-CreateModel"})
    assert graph.dependencies["Report"] == frozenset({"Train"})
    order = graph.order()
    ran: list[str] = []
    while order.is_active():
        ready = order.get_ready()
        if not ready:
            break
        ran.extend(ready)
        if "CheckAccuracy" in ready:
            order.choose("CheckAccuracy", False)
        order.done(*ready)
    assert ran == ["Preprocess", "Train", "Evaluate", "Report", "CheckAccuracy", "AccuracyTooLow"]
    bound = bind_parameters(definition, {"RunBatch": "true", "Epochs": "3"})
    assert bound["RunBatch"] is True and bound["Epochs"] == 3
    assert bound["ModelApprovalStatus"] == "PendingManualApproval"
