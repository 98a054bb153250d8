"""Parameter values override defaults and reach config fields and inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepipe.local.definition.errors import ParameterValueError
from sagepipe.pipeline import ParameterInteger, ParameterString
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, StepFactory, by_name, output_uri

REPORT = """
    import json, pathlib
    config = json.loads(pathlib.Path("/opt/ml/config/processingjobconfig.json").read_text())
    count = config["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
    data = pathlib.Path("/opt/ml/processing/input/data/value.txt").read_text()
    pathlib.Path("/opt/ml/processing/output/out/report.json").write_text(
        json.dumps({"count": count, "data": data})
    )
"""


@pytest.fixture
def parameterised(
    tmp_path: Path, make_code: CodeFactory, processing_step: StepFactory, storage: RoutedStorage
) -> list:
    for name in ("a", "b"):
        local = tmp_path / f"{name}.txt"
        local.write_text(f"data {name}")
        storage.put_file(local, f"s3://sagepipe-local/inputs/{name}/value.txt")
    return [
        processing_step(
            "report",
            make_code("report", **{"script.py": REPORT}),
            inputs={"data": ParameterString("InputData", "s3://sagepipe-local/inputs/a/")},
            outputs=("out",),
            processing_instance_count=ParameterInteger("Count", 1),
        )
    ]


def _report(outcome, storage: RoutedStorage) -> dict:  # type: ignore[no-untyped-def]
    step = by_name(outcome)["report"]
    assert outcome.status == "Succeeded", step.failure_reason
    return json.loads(storage.open_read(output_uri(step, "out") + "/report.json").read())


def test_defaults_apply(parameterised: list, run: Runner, storage: RoutedStorage) -> None:
    assert _report(run(parameterised), storage) == {"count": 1, "data": "data a"}


def test_overrides_reach_config_fields_and_inputs(
    parameterised: list, run: Runner, storage: RoutedStorage
) -> None:
    outcome = run(parameterised, {"Count": "3", "InputData": "s3://sagepipe-local/inputs/b/"})
    assert _report(outcome, storage) == {"count": 3, "data": "data b"}


def test_bad_parameter_values_fail_before_running(parameterised: list, run: Runner) -> None:
    with pytest.raises(ParameterValueError, match="did you mean 'Count'"):
        run(parameterised, {"Cont": "3"})
    with pytest.raises(Exception, match="Integer"):
        run(parameterised, {"Count": "three"})
