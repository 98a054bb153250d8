"""Compiling pipelines: golden definitions, determinism, each step type's arguments."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sagepipe.config import ProcessingConfig, ProcessingInput, ProcessingOutput
from sagepipe.pipeline import ParameterString, Pipeline
from sagepipe.sagemaker import CompiledPipeline, CompileError, CompileOptions, compile_pipeline
from sagepipe.steps import ProcessingStepBuilder

from .conftest import step_named
from .resources.pipelines import ROLE, SHARED, full_pipeline, training_pipeline

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "example": lambda: full_pipeline(),
    "torch_distributed": lambda: training_pipeline("torch_distributed"),
    "pytorchddp": lambda: training_pipeline("pytorchddp", instance_type="ml.p4d.24xlarge"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_definition(case: str) -> None:
    text = compile_pipeline(CASES[case]()).to_json()
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SAGEPIPE_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with SAGEPIPE_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), (
        f"the definition differs from {path}; if the change is intended, rerun with "
        "SAGEPIPE_UPDATE_GOLDEN=1 and review the diff"
    )


def test_compiling_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = compile_pipeline(full_pipeline()).to_json()
    second = compile_pipeline(full_pipeline()).to_json()
    assert first == second
    # The same code elsewhere on disk gives the same definition (paths are not content).
    moved = tmp_path / "somewhere" / "code"
    shutil.copytree(Path(__file__).parent / "resources" / "code", moved)
    assert compile_pipeline(full_pipeline(code=moved)).to_json() == first


def test_changing_code_changes_only_its_address(code_copy: Path) -> None:
    before = compile_pipeline(full_pipeline(code=code_copy))
    (code_copy / "train.py").write_text("print('a new model')\n")
    after = compile_pipeline(full_pipeline(code=code_copy))
    assert {u.uri for u in before.uploads} != {u.uri for u in after.uploads}
    old = json.loads(before.to_json())
    new = json.loads(after.to_json())
    for name in ("model", "payload", "transform", "endpoint", "registration"):
        assert step_named_json(old, name) == step_named_json(new, name)


def step_named_json(definition: dict[str, object], name: str) -> object:
    steps = definition["Steps"]
    assert isinstance(steps, list)
    return next(s for s in steps if s["Name"] == name)


def test_definition_form(compiled_example: CompiledPipeline) -> None:
    definition = compiled_example.definition
    assert definition["Version"] == "2020-12-01"
    assert definition["Metadata"] == {}
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }
    steps = definition["Steps"]
    assert isinstance(steps, list)
    types = {s["Name"]: s["Type"] for s in steps}
    assert types == {
        "preprocess": "Processing",
        "train": "Training",
        "model-RepackModel": "Processing",
        "model": "Model",
        "packaging": "Processing",
        "payload": "Processing",
        "registration": "RegisterModel",
        "transform": "Transform",
        "endpoint-Config": "EndpointConfig",
        "endpoint": "Endpoint",
    }
    train = step_named(compiled_example, "train")
    assert train["DependsOn"] == ["preprocess"]
    assert train["CacheConfig"] == {"Enabled": True}
    assert "CacheConfig" not in step_named(compiled_example, "model")
    assert step_named(compiled_example, "model")["RetryPolicies"]


def test_parameters_in_instance_types_and_hyperparameters(
    compiled_example: CompiledPipeline,
) -> None:
    parameters = {p["Name"]: p for p in compiled_example.definition["Parameters"]}  # type: ignore[index, union-attr]
    assert parameters["TrainInstanceType"] == {
        "Name": "TrainInstanceType",
        "Type": "String",
        "DefaultValue": "ml.m5.xlarge",
    }
    arguments = step_named(compiled_example, "train")["Arguments"]
    assert isinstance(arguments, dict)
    assert arguments["ResourceConfig"] == {
        "InstanceCount": {"Get": "Parameters.TrainInstanceCount"},
        "InstanceType": {"Get": "Parameters.TrainInstanceType"},
        "VolumeSizeInGB": 30,
    }
    hyperparameters = arguments["HyperParameters"]
    # A Float parameter becomes a string by a one-value Std:Join, as the SageMaker SDK does.
    assert hyperparameters["learning_rate"] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.LearningRate"}]}
    }
    assert hyperparameters["epochs"] == "3"
    assert hyperparameters["id_name"] == '"id"'
    assert hyperparameters["full_field_list"] == '["id", "label", "x1", "x2", "city"]'
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    assert hyperparameters["sagemaker_region"] == '"us-east-1"'
    assert hyperparameters["sagemaker_container_log_level"] == "20"
    digest = json.loads(hyperparameters["sagemaker_submit_directory"])
    assert digest.startswith("s3://sagepipe-test-bucket/example/code/")
    assert digest.endswith("/sourcedir.tar.gz")
    # The image is chosen for the parameter's default (a CPU instance).
    assert "2.1.0-cpu-py310" in arguments["AlgorithmSpecification"]["TrainingImage"]
    assert any("TrainInstanceType" in w for w in compiled_example.warnings)


def test_distribution_hyperparameters() -> None:
    torchrun = compile_pipeline(training_pipeline("torch_distributed")).definition
    hyperparameters = torchrun["Steps"][0]["Arguments"]["HyperParameters"]  # type: ignore[index]
    assert hyperparameters["sagemaker_torch_distributed_enabled"] == "true"
    assert hyperparameters["sagemaker_instance_type"] == '"ml.g5.12xlarge"'
    ddp = compile_pipeline(training_pipeline("pytorchddp")).definition
    hyperparameters = ddp["Steps"][0]["Arguments"]["HyperParameters"]  # type: ignore[index]
    assert hyperparameters["sagemaker_distributed_dataparallel_enabled"] == "true"
    assert hyperparameters["sagemaker_distributed_dataparallel_custom_mpi_options"] == '""'
    assert "sagemaker_torch_distributed_enabled" not in hyperparameters


def test_processing_runs_the_entry_point_from_the_code_input(
    compiled_example: CompiledPipeline,
) -> None:
    arguments = step_named(compiled_example, "preprocess")["Arguments"]
    assert isinstance(arguments, dict)
    assert arguments["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/preprocess.py",
    ]
    assert arguments["AppSpecification"]["ContainerArguments"] == ["--split", "0.8"]
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert inputs["raw_data"]["S3Uri"] == {"Get": "Parameters.InputData"}
    code = inputs["code"]
    assert code["LocalPath"] == "/opt/ml/processing/input/code"
    assert code["S3Uri"].startswith("s3://sagepipe-test-bucket/example/code/")
    assert code["S3Uri"].endswith("/files/")
    upload = next(u for u in compiled_example.uploads if u.uri == code["S3Uri"])
    assert {f.arcname for f in upload.bundle.files} >= {"preprocess.py", "helpers/columns.py"}


def test_sagepipe_steps_ship_their_scripts(compiled_example: CompiledPipeline) -> None:
    packaging = step_named(compiled_example, "packaging")["Arguments"]
    assert isinstance(packaging, dict)
    code_uri = packaging["ProcessingInputs"][-1]["S3Input"]["S3Uri"]
    bundle = next(u for u in compiled_example.uploads if u.uri == code_uri).bundle
    names = {f.arcname for f in bundle.files}
    assert {"package_model.py", "sagepipe_packaging.json", "inference_code/inference.py"} <= names
    assert packaging["AppSpecification"]["ContainerEntrypoint"][-1].endswith("package_model.py")


def test_model_package_points_at_the_packaged_archive(
    compiled_example: CompiledPipeline,
) -> None:
    arguments = step_named(compiled_example, "registration")["Arguments"]
    assert isinstance(arguments, dict)
    container = arguments["InferenceSpecification"]["Containers"][0]
    packaged = "Steps.packaging.ProcessingOutputConfig.Outputs['packaged_model'].S3Output.S3Uri"
    assert container["ModelDataUrl"] == {
        "Std:Join": {"On": "/", "Values": [{"Get": packaged}, "model.tar.gz"]}
    }
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Framework"] == "PYTORCH"
    assert container["FrameworkVersion"] == "2.1.0"
    payload = "Steps.payload.ProcessingOutputConfig.Outputs['payload_sample'].S3Output.S3Uri"
    assert arguments["SamplePayloadUrl"] == {
        "Std:Join": {"On": "/", "Values": [{"Get": payload}, "payload.tar.gz"]}
    }
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["CustomerMetadataProperties"] == {"team": "ml"}


def test_endpoint_is_a_config_step_and_an_endpoint_step(
    compiled_example: CompiledPipeline,
) -> None:
    config = step_named(compiled_example, "endpoint-Config")
    endpoint = step_named(compiled_example, "endpoint")
    variant = config["Arguments"]["ProductionVariants"][0]  # type: ignore[index]
    assert variant["ModelName"] == {"Get": "Steps.model.ModelName"}
    assert endpoint["Arguments"] == {
        "EndpointName": "example-endpoint",
        "EndpointConfigName": {"Get": "Steps.endpoint-Config.EndpointConfigName"},
    }
    assert endpoint["DependsOn"] == ["endpoint-Config"]


def test_transform_joins_input(compiled_example: CompiledPipeline) -> None:
    arguments = step_named(compiled_example, "transform")["Arguments"]
    assert isinstance(arguments, dict)
    assert arguments["DataProcessing"] == {"JoinSource": "Input"}
    assert arguments["ModelName"] == {"Get": "Steps.model.ModelName"}


def test_options_override_the_configs() -> None:
    other_role = "arn:aws:iam::210987654321:role/Other"
    compiled = compile_pipeline(
        full_pipeline(),
        CompileOptions(role=other_role, region="eu-west-1", bucket="other-bucket", prefix="p/q"),
    )
    text = compiled.to_json()
    assert ROLE not in text
    assert other_role in text
    assert "s3://other-bucket/p/q/code/" in text
    assert "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training" in text
    model = step_named(compiled, "model")["Arguments"]
    assert model["PrimaryContainer"]["Environment"]["AWS_REGION"] == "eu-west-1"  # type: ignore[index]


def test_image_uri_overrides_the_table() -> None:
    pipeline = training_pipeline(image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    arguments = compile_pipeline(pipeline).definition["Steps"][0]["Arguments"]  # type: ignore[index]
    assert arguments["AlgorithmSpecification"]["TrainingImage"].endswith("/mine:1")


def test_unknown_framework_version_is_a_compile_error() -> None:
    pipeline = training_pipeline(framework_version="1.4.2", py_version="py36")
    with pytest.raises(CompileError, match=r"step 'train': no PyTorch training image .*2\.1\.0"):
        compile_pipeline(pipeline)


def _processing(name: str, code: Path, **fields: object) -> Pipeline:
    config = ProcessingConfig(
        **{**SHARED, **fields},
        processing_entry_point="preprocess.py",
        source_dir=str(code),
        outputs=[ProcessingOutput(name="out")],
    )
    return Pipeline(name, [ProcessingStepBuilder(config).create_step(name="prep")])


def test_no_role_is_an_error(code_copy: Path) -> None:
    pipeline = _processing("norole", code_copy, role=None, bucket="b-b-b")
    with pytest.raises(CompileError, match="step 'prep' has no IAM role: pass --role"):
        compile_pipeline(pipeline)


def test_default_bucket_comes_from_the_role_account(code_copy: Path) -> None:
    compiled = compile_pipeline(_processing("nobucket", code_copy, bucket=None))
    assert compiled.target.bucket == "sagemaker-us-east-1-123456789012"


def test_configs_must_agree_on_the_bucket(code_copy: Path) -> None:
    first = _processing("a", code_copy, bucket="bucket-one").step("prep")
    config = ProcessingConfig(
        **{**SHARED, "bucket": "bucket-two"},
        processing_entry_point="preprocess.py",
        source_dir=str(code_copy),
    )
    second = ProcessingStepBuilder(config).create_step(name="other")
    with pytest.raises(CompileError, match="different bucket values"):
        compile_pipeline(Pipeline("disagree", [first, second]))
    compiled = compile_pipeline(
        Pipeline("disagree", [first, second]), CompileOptions(bucket="chosen")
    )
    assert compiled.target.bucket == "chosen"


def test_local_inputs_are_planned_for_upload(tmp_path: Path, code_copy: Path) -> None:
    data = tmp_path / "raw"
    data.mkdir()
    (data / "part-0.csv").write_text("a,b\n1,2\n")
    config = ProcessingConfig(
        **SHARED,
        processing_entry_point="preprocess.py",
        source_dir=str(code_copy),
        inputs=[ProcessingInput(name="raw", source=str(data))],
    )
    pipeline = Pipeline("local-input", [ProcessingStepBuilder(config).create_step(name="prep")])
    compiled = compile_pipeline(pipeline)
    raw = compiled.definition["Steps"][0]["Arguments"]["ProcessingInputs"][0]  # type: ignore[index]
    uri = raw["S3Input"]["S3Uri"]
    assert uri.startswith("s3://sagepipe-test-bucket/local-input/data/")
    assert any(u.uri == uri and u.kind == "files" for u in compiled.uploads)


def test_parameters_in_processing_fields(code_copy: Path) -> None:
    instance = ParameterString("PrepInstance", "ml.c5.2xlarge")
    config = ProcessingConfig(
        **SHARED,
        processing_entry_point="preprocess.py",
        source_dir=str(code_copy),
        processing_instance_type=instance,
    )
    pipeline = Pipeline("param", [ProcessingStepBuilder(config).create_step(name="prep")])
    arguments = compile_pipeline(pipeline).definition["Steps"][0]["Arguments"]  # type: ignore[index]
    cluster = arguments["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.PrepInstance"}


def test_registration_in_another_region_is_explained() -> None:
    from sagepipe.config import RegistrationConfig
    from sagepipe.steps import RegistrationStepBuilder

    config = RegistrationConfig(**SHARED, model_package_group_name="group", regions=["us-west-2"])
    steps = RegistrationStepBuilder(config).create_steps(
        name="register", inputs={"packaged_model": "s3://sagepipe-test-bucket/model.tar.gz"}
    )
    with pytest.raises(CompileError, match="registers model packages in its own region"):
        compile_pipeline(Pipeline("regions", steps))
