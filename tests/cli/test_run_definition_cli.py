"""``sagepipe run DEFINITION.json`` through the real entry point: control flow run by the
engine, parameters, and bad input refused in one line with exit 2 before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _definition(**changes: Any) -> dict[str, Any]:
    """A gate on a parameter: Epochs > 5 fails with a message, else the execution succeeds."""
    definition: dict[str, Any] = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Epochs", "Type": "Integer", "DefaultValue": 3}],
        "Steps": [
            {
                "Name": "gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "GreaterThan",
                            "LeftValue": {"Get": "Parameters.Epochs"},
                            "RightValue": 5,
                        }
                    ],
                    "IfSteps": [
                        {
                            "Name": "too-many",
                            "Type": "Fail",
                            "Arguments": {
                                "ErrorMessage": {
                                    "Std:Join": {
                                        "On": " ",
                                        "Values": [
                                            "Epochs is",
                                            {"Get": "Parameters.Epochs"},
                                            "in",
                                            {"Get": "Execution.PipelineName"},
                                        ],
                                    }
                                }
                            },
                        }
                    ],
                },
            }
        ],
    }
    definition.update(changes)
    return definition


def sagepipe(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=where,
        env=dict(os.environ, SAGEPIPE_HOME=str(where / "home"), SAGEPIPE_STORAGE="local"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write(where: Path, value: Any, name: str = "gate.json") -> str:
    path = where / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def test_a_definition_runs_with_its_parameters(tmp_path: Path) -> None:
    path = _write(tmp_path, _definition())

    passed = sagepipe(tmp_path, "run", path)
    assert passed.returncode == 0, passed.stderr
    assert "gate" in passed.stdout and ": Succeeded" in passed.stdout
    assert "too-many" in passed.stdout and "NotRun" in passed.stdout

    failed = sagepipe(tmp_path, "run", path, "--param", "Epochs=9")
    assert failed.returncode == 1, failed.stderr
    assert "(Epochs is 9 in gate)" in failed.stdout

    listed = sagepipe(tmp_path, "executions", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("gate") == 2


def test_a_describe_pipeline_response_runs_under_its_pipeline_name(tmp_path: Path) -> None:
    response = {
        "PipelineName": "described",
        "PipelineDefinition": json.dumps(_definition()),
    }
    path = _write(tmp_path, response, "response.json")

    failed = sagepipe(tmp_path, "run", path, "--param", "Epochs=6")

    assert failed.returncode == 1, failed.stderr
    assert "(Epochs is 6 in described)" in failed.stdout


def _cycle() -> dict[str, Any]:
    steps = [
        {"Name": "a", "Type": "Fail", "DependsOn": ["b"]},
        {"Name": "b", "Type": "Fail", "DependsOn": ["a"]},
    ]
    return _definition(Steps=steps)


def _missing_get() -> dict[str, Any]:
    definition = _definition()
    condition = definition["Steps"][0]["Arguments"]["Conditions"][0]
    condition["LeftValue"] = {"Get": "Steps.train.FinalMetricDataList[0].Value"}
    return definition


BAD_INPUT = [
    ("{not json", [], "is not valid JSON"),
    ({"Version": "2020-12-01", "Stages": []}, [], "not a pipeline definition"),
    (
        _definition(Steps=[{"Name": "l", "Type": "Lambda", "Arguments": {}}]),
        [],
        "'l' (Lambda)",
    ),
    (
        _definition(Steps=[{"Name": "x", "Type": "Teleport", "Arguments": {}}]),
        [],
        "'Teleport'",
    ),
    (_missing_get(), [], "step 'train' is not in the definition"),
    (_definition(), ["--param", "Epochs=many"], "Epochs"),
    (_definition(), ["--param", "Rate=0.1"], "'Rate'"),
    (_cycle(), [], "cycle"),
]


@pytest.mark.parametrize(("content", "args", "expected"), BAD_INPUT)
def test_bad_input_is_one_line_with_exit_2_and_nothing_runs(
    tmp_path: Path, content: Any, args: list[str], expected: str
) -> None:
    path = _write(tmp_path, content)

    result = sagepipe(tmp_path, "run", path, *args)

    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sagepipe: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "executions").exists()


def test_every_problem_of_every_step_is_a_line_of_its_own(tmp_path: Path) -> None:
    job = {
        "Type": "Training",
        "Arguments": {"AlgorithmSpecification": {"TrainingImage": "example.com/mine:1"}},
    }
    steps = [{"Name": "one", **job}, {"Name": "two", **job}]
    path = _write(tmp_path, _definition(Steps=steps))

    result = sagepipe(tmp_path, "run", path)

    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    # Every problem of every step, one line each (here also the missing OutputDataConfig).
    assert all(line.startswith("sagepipe: error: step ") for line in lines), lines
    refused = [line for line in lines if "'example.com/mine:1' has no local runtime" in line]
    assert ["'one'" in refused[0], "'two'" in refused[1]] == [True, True]
    assert not (tmp_path / "home" / "executions").exists()
