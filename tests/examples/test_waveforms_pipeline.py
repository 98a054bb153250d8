"""The waveforms example: a plain script-mode project (strict argparse, ``train`` and
``validation`` channels, its own sample payload files, no tabular field) in a pipeline, in
YAML and in Python; run for real (demo, registry, a named endpoint invoked with boto3) and
compiled for SageMaker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from sagepipe.definitions.examples_dir import EXAMPLES, WAVEFORMS, example_dir
from sagepipe.definitions.loading import load_pipeline
from sagepipe.endpoints import create_endpoint, delete_endpoint, runtime_url
from sagepipe.local.store import RunStore
from sagepipe.registry import LocalRegistry
from sagepipe.sagemaker import CompileOptions, compile_pipeline
from sagepipe.sagemaker.validation import validate_definition

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "waveforms"
ACCURACY_FLOOR = 0.9  # the example reaches ~0.99 on validation and test with its fixed seeds
HYPERPARAMETERS = {"epochs", "batch-size", "learning-rate", "filters", "seed"}


def test_config_file_and_python_forms_give_the_same_ir() -> None:
    from_yaml = load_pipeline(str(EXAMPLE / "pipeline.yaml"))
    from_python = load_pipeline(f"{EXAMPLE / 'pipeline.py'}:build_pipeline")
    assert from_yaml.to_json() == from_python.to_json()


def test_channels_are_wired_by_name_and_only_the_given_hyperparameters_are_passed() -> None:
    pipeline = load_pipeline(str(EXAMPLE / "pipeline.yaml"))
    train = pipeline.step("train")
    assert set(train.inputs) == {"train", "validation"}  # no tabular `data` channel
    for channel in ("train", "validation"):
        assert train.inputs[channel].value == {
            "Get": f"Steps.prepare.ProcessingOutputConfig.Outputs['{channel}'].S3Output.S3Uri"
        }
    assert set(train.config["hyperparameters"]) == HYPERPARAMETERS
    assert train.config["hyperparameters_type"] is None
    assert pipeline.step("transform").inputs["input_data"].value == {
        "Get": "Steps.prepare.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    }


def test_the_repository_example_is_the_shipped_one() -> None:
    assert WAVEFORMS in EXAMPLES
    for name in ("pipeline.yaml", "pipeline.py", "code", "samples"):
        assert (EXAMPLE / name).is_symlink(), name
        assert (EXAMPLE / name).resolve() == (example_dir(WAVEFORMS) / name).resolve(), name


def test_the_demo_offers_every_shipped_example() -> None:
    # demo_commands spells the choices out (importing examples_dir at startup costs pydantic).
    from sagepipe.cli.main import build_parser

    parser = build_parser()
    demo = next(
        action.choices["demo"]
        for action in parser._actions
        if isinstance(action.choices, dict) and "demo" in action.choices
    )
    example = next(a for a in demo._actions if a.dest == "example")
    assert tuple(example.choices) == EXAMPLES
    for name in EXAMPLES:
        assert (example_dir(name) / "pipeline.yaml").is_file()


def test_it_compiles_to_a_valid_definition_with_the_scripts_own_arguments() -> None:
    pipeline = load_pipeline(str(EXAMPLE / "pipeline.yaml"))
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    compiled = compile_pipeline(pipeline, CompileOptions(bucket="my-bucket", role=role))
    assert validate_definition(compiled.definition, compiled.apis) == []
    steps = {s["Name"]: s for s in compiled.definition["Steps"]}  # type: ignore[union-attr]
    training = steps["train"]["Arguments"]
    assert (
        set(training["HyperParameters"])
        - {
            "sagemaker_program",
            "sagemaker_submit_directory",
            "sagemaker_region",
            "sagemaker_container_log_level",
            "sagemaker_job_name",
        }
        == HYPERPARAMETERS
    )
    # SageMaker passes each value JSON-encoded; the toolkit decodes it to --batch-size 32.
    assert training["HyperParameters"]["batch-size"] == "32"
    assert training["HyperParameters"]["learning-rate"] == "0.01"
    channels = {c["ChannelName"]: c for c in training["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    assert channels["train"]["ContentType"] == "application/x-npy"
    assert channels["validation"]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.prepare.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"
    }
    metrics = {m["Name"] for m in training["AlgorithmSpecification"]["MetricDefinitions"]}
    assert metrics == {"train_loss", "validation_loss", "validation_accuracy"}
    registration = next(s for s in steps.values() if s["Type"] == "RegisterModel")
    spec = registration["Arguments"]["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["application/json", "application/x-npy"]


def _demo(home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Rewrite mode (/opt/ml only in arguments), what machines without private mount
    # namespaces get; the wheel test runs the example in this machine's own mode.
    env = {**os.environ, "SAGEPIPE_HOME": str(home), "SAGEPIPE_OPT_ML_MODE": "rewrite"}
    env.pop("SAGEPIPE_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", "demo", "--example", "waveforms"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_it_runs_registers_and_serves_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    result = _demo(home, cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    execution = re.search(r"execution (\w+): Succeeded in", out)
    assert execution is not None, out

    # The script got exactly its own arguments (a strict parse_args() would have failed on
    # any other), read both channels, and printed the metrics its definitions capture.
    train_log = (home / "executions" / execution.group(1) / "train" / "step.log").read_text()
    command = re.search(r"following command: \S+ train\.py (.*)\n", train_log)
    assert command is not None, train_log
    words = command.group(1).split()
    assert {w[2:] for w in words[::2]} == HYPERPARAMETERS, command.group(0)
    assert all(w.startswith("--") for w in words[::2]) and len(words) == 10, command.group(0)
    assert words[words.index("--batch-size") + 1] == "32"
    store = RunStore.open(home)
    try:
        steps = {s.name: s for s in store.steps(execution.group(1))}
        metrics = store.metrics(execution.group(1))
    finally:
        store.close()
    assert {s.status for s in steps.values()} == {"Succeeded"}
    accuracy = max((p for p in metrics if p.name == "validation_accuracy"), key=lambda p: p.index)
    assert accuracy.value >= ACCURACY_FLOOR
    test = re.search(r"test set: accuracy ([0-9.]+) \((\d+) records\)", out)
    assert test is not None, out
    assert float(test.group(1)) >= ACCURACY_FLOOR and int(test.group(2)) == 90

    # Registered after the smoke test sent both sample files; the demo's request was the
    # first of them, and the model named its class.
    registry = LocalRegistry(home / "registry.db")
    (package,) = registry.list_versions("waveforms-demo")
    described = registry.describe(package.model_package_arn)
    assert described.inference_specification.supported_content_types == (
        "application/json",
        "application/x-npy",
    )
    registration_log = (
        home / "executions" / execution.group(1) / "registration" / "step.log"
    ).read_text()
    for sample in ("sine.json", "square-and-sawtooth.npy"):
        assert f"the sample file {sample} of " in registration_log, registration_log
    answer = re.search(r"answer \([0-9.]+ ms\): (\[.*\])", out)
    assert answer is not None, out
    assert json.loads(answer.group(1))[0]["label"] == "sine"

    # The packaged model behind a named local endpoint answers boto3's InvokeEndpoint.
    monkeypatch.setenv("SAGEPIPE_HOME", str(home))
    model_data = described.inference_specification.containers[0].model_data_url
    create_endpoint("waveforms", model_data, workers=1, home=home)
    try:
        url = runtime_url(home)
        assert url is not None
        client = boto3.client(
            "sagemaker-runtime",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        samples = example_dir(WAVEFORMS) / "samples"
        response = client.invoke_endpoint(
            EndpointName="waveforms",
            ContentType="application/x-npy",
            Accept="application/json",
            Body=(samples / "square-and-sawtooth.npy").read_bytes(),
        )
        labels = [r["label"] for r in json.loads(response["Body"].read())]
        assert labels == ["square", "sawtooth"]
    finally:
        delete_endpoint("waveforms", home, timeout_s=10)
