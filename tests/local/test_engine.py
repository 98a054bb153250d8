"""The local engine executes SageMaker pipeline definitions: parameters, Get/Join/JsonGet,
Condition and Fail in the engine, job steps through the local call registry (here small test
implementations, :mod:`definition_test_calls`), caching per CacheConfig, RetryPolicies,
resume, and every static problem reported before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import sagepipe.local.calls as calls
from sagepipe.local.definition.errors import DefinitionProblemsError, ParameterValueError
from sagepipe.local.definition.model import Definition
from sagepipe.local.definition.reading import definition_from_json
from sagepipe.local.engine import ExecutionOutcome, RunOptions, resume_execution, run_definition
from sagepipe.local.store import RunStore
from sagepipe.storage import RoutedStorage

HERE = Path(__file__).parent
IMAGE = "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.3.0-cpu-py311"
SOURCE = "s3://data/input/numbers.txt"


def _get(reference: str) -> dict[str, str]:
    return {"Get": reference}


def _join(*values: Any, on: str = "") -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def _output_of(step: str) -> dict[str, str]:
    return _get(f"Steps.{step}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri")


def _copy(name: str, source: Any, **extra: Any) -> dict[str, Any]:
    destination = _join("s3://data/runs/", _get("Execution.PipelineExecutionId"), f"/{name}")
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": IMAGE},
            "Environment": {"SOURCE": source},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                }
            },
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": destination,
                            "LocalPath": "/opt/ml/processing/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "RoleArn": "arn:aws:iam::123456789012:role/R",
        },
        "PropertyFiles": [
            {"PropertyFileName": "report", "OutputName": "out", "FilePath": "report.json"}
        ],
    }
    step.update(extra)
    return step


def _pipeline(minimum_size: int = 1) -> dict[str, Any]:
    """copy -> check (size from the property file >= MinSize) -> copy-again | stop."""
    size = {
        "Std:JsonGet": {"PropertyFile": _get("Steps.copy.PropertyFiles.report"), "Path": "size"}
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "MinSize", "Type": "Integer", "DefaultValue": minimum_size},
            {"Name": "Source", "Type": "String", "DefaultValue": SOURCE},
        ],
        "Steps": [
            _copy("copy", _get("Parameters.Source")),
            {
                "Name": "check",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "GreaterThanOrEqualTo",
                            "LeftValue": size,
                            "RightValue": _get("Parameters.MinSize"),
                        }
                    ],
                    "IfSteps": [_copy("copy-again", _join(_output_of("copy"), "/copy.txt"))],
                    "ElseSteps": [
                        {
                            "Name": "too-small",
                            "Type": "Fail",
                            "Arguments": {
                                "ErrorMessage": _join(
                                    "fewer than ", _get("Parameters.MinSize"), " bytes"
                                )
                            },
                        }
                    ],
                },
            },
        ],
    }


@pytest.fixture
def test_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processing steps run :class:`definition_test_calls.CopyObject` (also in step
    processes, which import it from this directory)."""
    monkeypatch.setitem(calls._IMPLEMENTATIONS, "Processing", "definition_test_calls:CopyObject")
    paths = [str(HERE), *filter(None, [__import__("os").environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", ":".join(paths))
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture
def data(storage: RoutedStorage, tmp_path: Path) -> RoutedStorage:
    source = tmp_path / "numbers.txt"
    source.write_text("1 2 3\n")
    storage.put_file(source, SOURCE)
    return storage


def _run(raw: dict[str, Any], home: Path, **params: str) -> ExecutionOutcome:
    definition = definition_from_json(copy.deepcopy(raw), source="test")
    return run_definition(definition, params, RunOptions(home=home), name="copies")


def _statuses(outcome: ExecutionOutcome) -> dict[str, str]:
    return {step.name: step.status for step in outcome.steps}


@pytest.mark.usefixtures("test_calls")
def test_a_condition_chooses_its_branch_and_later_steps_read_properties(
    home: Path, data: RoutedStorage
) -> None:
    outcome = _run(_pipeline(), home)

    assert outcome.status == "Succeeded", outcome.failure_reason
    assert _statuses(outcome) == {
        "copy": "Succeeded",
        "check": "Succeeded",
        "copy-again": "Succeeded",
        "too-small": "NotRun",
    }
    steps = {step.name: step for step in outcome.steps}
    assert steps["check"].properties == {"Outcome": True}
    again = f"s3://data/runs/{outcome.execution_id}/copy-again/copy.txt"
    with data.open_read(again) as reader:
        assert reader.read() == b"1 2 3\n"


@pytest.mark.usefixtures("test_calls")
def test_a_fail_step_fails_the_execution_with_its_message(home: Path, data: RoutedStorage) -> None:
    outcome = _run(_pipeline(), home, MinSize="100")

    assert outcome.status == "Failed"
    assert outcome.failure_reason == "fewer than 100 bytes"
    assert _statuses(outcome)["copy-again"] == "NotRun"
    assert _statuses(outcome)["too-small"] == "Failed"
    assert RunStore.open(home).execution(outcome.execution_id).failure_reason == (
        "fewer than 100 bytes"
    )


@pytest.mark.usefixtures("test_calls")
def test_a_missing_object_fails_the_step_with_its_uri_and_leaves_nothing(
    home: Path, data: RoutedStorage
) -> None:
    outcome = _run(_pipeline(), home, Source="s3://data/input/absent.txt")

    assert outcome.status == "Failed"
    assert "s3://data/input/absent.txt" in (outcome.failure_reason or "")
    assert _statuses(outcome) == {
        "copy": "Failed",
        "check": "NotRun",
        "copy-again": "NotRun",
        "too-small": "NotRun",
    }
    assert data.list(f"s3://data/runs/{outcome.execution_id}/") == []


@pytest.mark.usefixtures("test_calls")
def test_steps_are_cached_only_when_their_cache_config_enables_it(
    home: Path, data: RoutedStorage
) -> None:
    raw = _pipeline()
    raw["Steps"][0]["CacheConfig"] = {"Enabled": True}
    first = _run(raw, home)
    second = _run(raw, home)

    assert _statuses(second)["copy"] == "Cached"
    assert {s.name: s.cache_source for s in second.steps}["copy"] == first.execution_id
    # copy-again has no CacheConfig: SageMaker runs it every time.
    assert _statuses(second)["copy-again"] == "Succeeded"

    raw["Steps"][0]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "PT0S"}
    assert _statuses(_run(raw, home))["copy"] == "Succeeded"


@pytest.mark.usefixtures("test_calls")
def test_changed_input_content_misses_the_cache(
    home: Path, data: RoutedStorage, tmp_path: Path
) -> None:
    raw = _pipeline()
    raw["Steps"][0]["CacheConfig"] = {"Enabled": True}
    _run(raw, home)
    changed = tmp_path / "changed.txt"
    changed.write_text("4 5 6 7\n")
    data.put_file(changed, SOURCE)

    assert _statuses(_run(raw, home))["copy"] == "Succeeded"


@pytest.mark.usefixtures("test_calls")
def test_a_fault_of_the_machine_is_retried_per_retry_policy(
    home: Path, data: RoutedStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(calls._IMPLEMENTATIONS, "Processing", "definition_test_calls:FlakyCopy")
    raw = _pipeline()
    step = raw["Steps"][0]
    step["Arguments"]["Environment"]["FLAKY_MARKER"] = str(tmp_path / "retried")

    failed = _run(raw, home)
    assert failed.status == "Failed"
    assert "No space left on device" in (failed.failure_reason or "")

    (tmp_path / "retried").unlink()
    step["RetryPolicies"] = [
        {"ExceptionType": ["Step.SERVICE_FAULT"], "IntervalSeconds": 1, "MaxAttempts": 2}
    ]
    retried = _run(raw, home)
    assert retried.status == "Succeeded", retried.failure_reason

    # A failure of the request itself (a missing object) is never retried.
    (tmp_path / "retried").write_text("")
    missing = _run(raw, home, Source="s3://data/input/absent.txt")
    assert missing.status == "Failed"
    assert "absent.txt" in (missing.failure_reason or "")


@pytest.mark.usefixtures("test_calls")
def test_resume_reruns_what_did_not_succeed_from_the_recorded_definition(
    home: Path, data: RoutedStorage, tmp_path: Path
) -> None:
    raw = _pipeline()
    raw["Steps"][1]["Arguments"]["IfSteps"][0]["Arguments"]["Environment"]["SOURCE"] = (
        "s3://data/input/later.txt"
    )
    failed = _run(raw, home)
    assert _statuses(failed)["copy-again"] == "Failed"
    first_copy = {s.name: s for s in failed.steps}["copy"]

    later = tmp_path / "later.txt"
    later.write_text("later\n")
    data.put_file(later, "s3://data/input/later.txt")
    resumed = resume_execution(failed.execution_id, RunOptions(home=home))

    assert resumed.execution_id == failed.execution_id
    assert resumed.status == "Succeeded", resumed.failure_reason
    steps = {s.name: s for s in resumed.steps}
    assert steps["copy"].start_time == first_copy.start_time  # kept, not rerun
    assert steps["copy-again"].status == "Succeeded"
    assert steps["too-small"].status == "NotRun"


@pytest.mark.usefixtures("test_calls")
def test_every_problem_of_every_step_is_reported_before_anything_runs(home: Path) -> None:
    raw = _pipeline()
    raw["Steps"][0]["Arguments"]["AppSpecification"]["ImageUri"] = "example.com/mine:1"
    again = raw["Steps"][1]["Arguments"]["IfSteps"][0]
    again["Arguments"]["AppSpecification"]["ImageUri"] = "example.com/other:2"
    again["Arguments"]["Environment"]["SOURCE"] = _get("Steps.nothing.Whatever")
    raw["Steps"][0]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "one day"}

    with pytest.raises(DefinitionProblemsError) as raised:
        _run(raw, home)

    problems = raised.value.problems
    assert len(problems) == 4, problems
    assert any("'nothing'" in p and "Arguments.Environment.SOURCE" in p for p in problems)
    assert any("'copy'" in p and "example.com/mine:1" in p for p in problems)
    assert any("'copy-again'" in p and "example.com/other:2" in p for p in problems)
    assert any("CacheConfig.ExpireAfter" in p and "one day" in p for p in problems)
    assert not (home / "executions").exists()


@pytest.mark.usefixtures("test_calls")
def test_a_parameter_of_the_wrong_type_runs_nothing(home: Path) -> None:
    definition: Definition = definition_from_json(_pipeline(), source="test")

    with pytest.raises(ParameterValueError, match="MinSize"):
        run_definition(definition, {"MinSize": "many"}, RunOptions(home=home), name="copies")
    assert not (home / "executions").exists()
