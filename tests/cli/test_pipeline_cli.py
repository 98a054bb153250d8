"""`sagepipe validate`, `show` and `config init` through the real entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.definitions import load_pipeline

RESOURCES = Path(__file__).parent.parent / "resources"


def sagepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    target = tmp_path / "resources"
    shutil.copytree(RESOURCES, target)
    return target


def assert_user_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sagepipe: error: ")
    for part in parts:
        assert part in lines[0]


def test_validate_a_config_file(resources: Path) -> None:
    result = sagepipe("validate", "pipelines/tiny.yaml", cwd=resources)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: tiny-pipeline: 5 steps, 2 parameters\n"


def test_validate_a_python_pipeline(resources: Path) -> None:
    result = sagepipe("validate", "pipelines/tiny_pipeline.py:build", cwd=resources)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: tiny-python: 2 steps, 0 parameters\n"


def test_show_lists_steps_wiring_and_parameters(resources: Path) -> None:
    result = sagepipe("show", "pipelines/tiny.yaml", cwd=resources)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("pipeline tiny-pipeline: 5 steps, 2 parameters\n")
    assert "  InputData      String   default 's3://bucket/raw/'" in out
    order = [
        out.index(f". {name}  ") for name in ("load", "preprocess", "train", "model", "transform")
    ]
    assert order == sorted(order)
    assert "  3. train  PyTorchTrainingStep (PyTorchTrainingConfig)" in out
    assert "     after: preprocess\n" in out
    assert "     code: train.py in ../code\n" in out
    assert (
        "       input_path <- preprocess.processed_data (name 'processed_data', type "
        "processing_output)\n"
        "          = Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data']"
        ".S3Output.S3Uri\n"
    ) in out
    assert "       source <- Parameters.InputData (given explicitly)\n" in out
    assert (
        "       model_artifacts (model_artifacts): Steps.train.ModelArtifacts.S3ModelArtifacts"
        in out
    )
    assert "     parameters: TrainInstance\n" in out


def test_show_json_prints_the_ir(resources: Path) -> None:
    result = sagepipe("show", "--json", "pipelines/tiny.yaml", cwd=resources)
    assert result.returncode == 0, result.stderr
    assert result.stdout == load_pipeline(resources / "pipelines" / "tiny.yaml").to_json()
    assert json.loads(result.stdout)["name"] == "tiny-pipeline"
    assert str(resources) not in result.stdout


def test_config_init_then_validate_and_show(tmp_path: Path) -> None:
    result = sagepipe("config", "init", "starter", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "wrote starter/pipeline.yaml"
    assert "next: sagepipe validate starter/pipeline.yaml" in result.stdout
    validate = sagepipe("validate", "starter/pipeline.yaml", cwd=tmp_path)
    assert validate.stdout == "ok: tabular-starter: 6 steps, 2 parameters\n"
    show = sagepipe("show", "starter/pipeline.yaml", cwd=tmp_path)
    assert show.returncode == 0
    assert "registration" in show.stdout
    again = sagepipe("config", "init", "starter", cwd=tmp_path)
    assert_user_error(again, "starter/pipeline.yaml", "already exist", "nothing was written")


def test_a_missing_pipeline_file_is_one_line(tmp_path: Path) -> None:
    assert_user_error(
        sagepipe("validate", "nope.yaml", cwd=tmp_path), "nope.yaml", "does not exist"
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = sagepipe("--debug", "validate", "nope.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "PipelineLoadError" in result.stderr


def test_a_config_mistake_names_file_step_and_field(resources: Path) -> None:
    file = resources / "pipelines" / "tiny.yaml"
    file.write_text(
        file.read_text().replace(
            "config_type: BatchTransformConfig",
            "config_type: BatchTransformConfig\n    split_typ: Line",
        )
    )
    result = sagepipe("validate", "pipelines/tiny.yaml", cwd=resources)
    assert_user_error(
        result,
        str(file.resolve()),
        "step 'transform'",
        "split_typ: unknown field (did you mean 'split_type'?)",
    )


def test_a_cycle_is_one_line_listing_the_cycle(resources: Path) -> None:
    file = resources / "pipelines" / "tiny.yaml"
    file.write_text(
        file.read_text().replace(
            "      - [model, transform]\n",
            "      - [model, transform]\n      - [transform, train]\n",
        )
    )
    result = sagepipe("show", "pipelines/tiny.yaml", cwd=resources)
    assert_user_error(result, "cycle", "train -> model -> transform -> train")


def test_a_wrong_attribute_is_one_line(resources: Path) -> None:
    result = sagepipe("validate", "pipelines/tiny_pipeline.py:biuld", cwd=resources)
    assert_user_error(result, "has no attribute 'biuld' (did you mean 'build'?)")


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = sagepipe("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("validate", "show", "config"):
        assert command in result.stdout
    validate_help = sagepipe("validate", "--help", cwd=tmp_path)
    assert "--target {ir,sagemaker}" in validate_help.stdout
    bad_target = sagepipe("validate", "--target", "nowhere", "x.yaml", cwd=tmp_path)
    assert bad_target.returncode == 2
    assert "invalid choice: 'nowhere'" in bad_target.stderr
