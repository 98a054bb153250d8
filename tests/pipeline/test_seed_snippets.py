"""The seeds' pipeline snippets run as written; only the import lines differ.

- Seed 000 (PyTorch model step) and seed 001 (PyTorch training step), "Usage with Pipeline
  Builder Template": the DAG data_load -> preprocess -> train -> model (-> transform) with the
  seed's ``step_builder_map``. ``CradleDataLoadingStepBuilder`` is an import alias of
  sagepipe's data-loading step (the stand-in for Amazon-internal Cradle data loading).
- Seed 002 (BSM pipeline): the packaging step's output read as
  ``ProcessingOutputConfig.Outputs[0].S3Output.S3Uri``.

Each snippet's body is copied from its seed file; the configs it assumes exist are built here.
The pipelines are checked (steps, wiring), compiled (the definition validated against
botocore's SageMaker model), and seed 000's is run locally end to end on the Palmer penguins
table the tabular example ships.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from sagepipe.cli.local_compile import compile_for_local
from sagepipe.config import (
    BatchTransformConfig,
    DataLoadingConfig,
    PackagingConfig,
    ProcessingConfig,
    ProcessingInput,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
    TabularPreprocessingConfig,
)
from sagepipe.definitions.examples_dir import example_dir
from sagepipe.errors import DependencyResolutionError
from sagepipe.local.engine import ExecutionOutcome, RunOptions, run_definition
from sagepipe.pipeline import Pipeline, PipelineBuilderTemplate, PipelineDAG
from sagepipe.sagemaker import compile_pipeline
from sagepipe.steps import (
    BatchTransformStepBuilder,
    PackagingStepBuilder,
    ProcessingStepBuilder,
    PyTorchModelStepBuilder,
    PytorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    RegistrationStepBuilder,
    TabularPreprocessingStepBuilder,
)
from sagepipe.steps import DataLoadingStepBuilder as CradleDataLoadingStepBuilder
from sagepipe.storage import RoutedStorage, get_storage

RESOURCES = Path(__file__).parent.parent / "resources"
CODE = str(RESOURCES / "seed_code")
PENGUINS = example_dir() / "data"
VERSIONS = {"framework_version": "2.1.0", "py_version": "py310"}
sagemaker_session = None
role = "arn:aws:iam::123456789012:role/SageMakerRole"


def seed_configs(source: str = str(PENGUINS)) -> dict[str, Any]:
    """The configs the snippets name (``data_load_config``...)."""
    return {
        "data_load_config": DataLoadingConfig(source=source, include=["*.csv"]),
        "preprocess_config": TabularPreprocessingConfig(
            label_name="species", val_fraction=0.2, test_fraction=0.2, seed=11
        ),
        "train_config": PyTorchTrainingConfig(
            **VERSIONS,
            source_dir=CODE,
            training_entry_point="train.py",
            training_instance_type="ml.m5.xlarge",
            env={"LABEL_NAME": "species"},
        ),
        "model_config": PyTorchModelConfig(
            **VERSIONS, source_dir=CODE, inference_entry_point="inference.py"
        ),
        "transform_config": BatchTransformConfig(
            **VERSIONS,
            content_type="text/csv",
            accept="text/csv",
            split_type="Line",
            batch_strategy="MultiRecord",
            assemble_with="Line",
        ),
    }


def seed_000_template(
    data_load_config: Any,
    preprocess_config: Any,
    train_config: Any,
    model_config: Any,
    transform_config: Any,
) -> Pipeline:
    # Seed 000, "Usage with Pipeline Builder Template", as written.
    # Create the DAG
    dag = PipelineDAG()
    dag.add_node("data_load")
    dag.add_node("preprocess")
    dag.add_node("train")
    dag.add_node("model")
    dag.add_node("transform")
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    dag.add_edge("model", "transform")

    # Create the config map
    config_map = {
        "data_load": data_load_config,
        "preprocess": preprocess_config,
        "train": train_config,
        "model": model_config,
        "transform": transform_config,
    }

    # Create the step builder map
    step_builder_map = {
        "CradleDataLoadStep": CradleDataLoadingStepBuilder,
        "TabularPreprocessingStep": TabularPreprocessingStepBuilder,
        "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
        "PytorchModelStep": PytorchModelStepBuilder,
        "BatchTransformStep": BatchTransformStepBuilder,
    }

    # Create the template
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,
        step_builder_map=step_builder_map,
        sagemaker_session=sagemaker_session,
        role=role,
    )

    # Generate the pipeline
    pipeline = template.generate_pipeline("my-pipeline")
    return pipeline


def seed_001_template(
    data_load_config: Any,
    preprocess_config: Any,
    train_config: Any,
    model_config: Any,
    transform_config: Any = None,
) -> Pipeline:
    # Seed 001, "Usage with Pipeline Builder Template", as written.
    # Create the DAG
    dag = PipelineDAG()
    dag.add_node("data_load")
    dag.add_node("preprocess")
    dag.add_node("train")
    dag.add_node("model")
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")

    # Create the config map
    config_map = {
        "data_load": data_load_config,
        "preprocess": preprocess_config,
        "train": train_config,
        "model": model_config,
    }

    # Create the step builder map
    step_builder_map = {
        "CradleDataLoadStep": CradleDataLoadingStepBuilder,
        "TabularPreprocessingStep": TabularPreprocessingStepBuilder,
        "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
        "PyTorchModelStep": PyTorchModelStepBuilder,
    }

    # Create the template
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map=config_map,
        step_builder_map=step_builder_map,
        sagemaker_session=sagemaker_session,
        role=role,
    )

    # Generate the pipeline
    pipeline = template.generate_pipeline("my-pipeline")
    return pipeline


def edge_reasons(pipeline: Pipeline) -> dict[tuple[str, str], str]:
    return {(e.upstream, e.downstream): e.reason for e in pipeline.edges()}


def test_seed_001_template_wires_load_split_train_model() -> None:
    pipeline = seed_001_template(**seed_configs())
    assert [s.name for s in pipeline.execution_order()] == [
        "data_load",
        "preprocess",
        "train",
        "model",
    ]
    assert [s.step_type for s in pipeline.execution_order()] == [
        "DataLoadingStep",
        "TabularPreprocessingStep",
        "PyTorchTrainingStep",
        "PyTorchModelStep",
    ]
    reasons = edge_reasons(pipeline)
    assert reasons[("data_load", "preprocess")].startswith("data: data_load.data")
    assert reasons[("preprocess", "train")].startswith("input_path: preprocess.processed_data")
    assert reasons[("train", "model")].startswith("model_data: train.model_artifacts")
    assert pipeline.step("data_load").inputs["source"].value == str(PENGUINS)
    assert all(step.config["role"] == role for step in pipeline.steps)


def test_seed_000_template_wires_the_transform_from_model_and_test_data() -> None:
    pipeline = seed_000_template(**seed_configs())
    transform = pipeline.step("transform")
    assert transform.inputs["model_name"].value == {"Get": "Steps.model.ModelName"}
    # Only model -> transform is in the DAG: the data is the test split the preprocessing
    # step (upstream via train and model) wrote, found by its exact output name.
    assert transform.inputs["input_data"].value == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['test_data'].S3Output.S3Uri"
    }
    assert transform.depends_on == ("model", "preprocess")
    reasons = edge_reasons(pipeline)
    assert reasons[("preprocess", "transform")].startswith("input_data: preprocess.test_data")
    assert reasons[("model", "transform")].startswith("model_name: model.model_name")


@pytest.mark.parametrize("snippet", [seed_000_template, seed_001_template], ids=["000", "001"])
def test_seed_templates_compile_to_a_validated_definition(snippet: Any) -> None:
    compiled = compile_pipeline(snippet(**seed_configs("s3://my-bucket/raw/")))
    steps = {s["Name"]: s for s in compiled.definition["Steps"]}  # type: ignore[union-attr,index]
    load = steps["data_load"]["Arguments"]
    [source] = [i for i in load["ProcessingInputs"] if i["InputName"] == "source"]
    assert source["S3Input"]["S3Uri"] == "s3://my-bucket/raw/"
    assert load["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/load_data.py",
    ]
    split = steps["preprocess"]["Arguments"]
    assert [o["OutputName"] for o in split["ProcessingOutputConfig"]["Outputs"]] == [
        "processed_data",
        "test_data",
    ]
    [data] = [i for i in split["ProcessingInputs"] if i["InputName"] == "data"]
    assert data["S3Input"]["S3Uri"] == {
        "Get": "Steps.data_load.ProcessingOutputConfig.Outputs['data'].S3Output.S3Uri"
    }
    channel = steps["train"]["Arguments"]["InputDataConfig"][0]
    assert channel["ChannelName"] == "data"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri"
    }
    settings = next(
        u.bundle
        for u in compiled.uploads
        if any(f.arcname == "sagepipe_tabular_preprocessing.json" for f in u.bundle.files)
    )
    [file] = [f for f in settings.files if f.arcname == "sagepipe_tabular_preprocessing.json"]
    assert b'"label_name": "species"' in settings.content(file)
    if snippet is seed_000_template:
        transform_input = steps["transform"]["Arguments"]["TransformInput"]
        assert transform_input["DataSource"]["S3DataSource"]["S3Uri"] == {
            "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['test_data'].S3Output.S3Uri"
        }


def test_a_transform_without_any_data_says_what_to_add() -> None:
    configs = seed_configs()
    dag = PipelineDAG(
        nodes=["train", "model", "transform"], edges=[("train", "model"), ("model", "transform")]
    )
    template = PipelineBuilderTemplate(
        dag=dag,
        config_map={
            "train": configs["train_config"],
            "model": configs["model_config"],
            "transform": configs["transform_config"],
        },
        step_builder_map={
            "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
            "PyTorchModelStep": PyTorchModelStepBuilder,
            "BatchTransformStep": BatchTransformStepBuilder,
        },
        inputs={"train": {"input_path": "s3://my-bucket/data/"}},
    )
    with pytest.raises(DependencyResolutionError) as caught:
        template.generate_pipeline("p")
    message = str(caught.value)
    assert "step 'transform' needs input 'input_data'" in message
    assert "no step further upstream has an output named 'test_data' either" in message
    assert (
        "inputs={'transform': {'input_data': <s3:// URI or OutputOf('<node>', '<output>')>}}"
        in (message)
    )


def test_seed_template_keys_may_name_a_processing_builder() -> None:
    # A seed map whose preprocessing key holds the generic processing builder: the node's
    # ProcessingConfig finds it by the builder's config class (was "step type
    # 'ProcessingStep' has no builder").
    configs = seed_configs()
    preprocess = ProcessingConfig(
        **VERSIONS,
        source_dir=CODE,
        processing_entry_point="train.py",
        inputs=[ProcessingInput(name="data")],
        outputs=[ProcessingOutput(name="processed_data")],
    )
    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=["data_load", "preprocess"], edges=[("data_load", "preprocess")]),
        config_map={"data_load": configs["data_load_config"], "preprocess": preprocess},
        step_builder_map={
            "CradleDataLoadStep": CradleDataLoadingStepBuilder,
            "TabularPreprocessingStep": ProcessingStepBuilder,
        },
    )
    pipeline = template.generate_pipeline("p")
    assert pipeline.step("preprocess").step_type == "ProcessingStep"
    assert pipeline.step("preprocess").inputs["data"].reason.startswith("data_load.data")


def seed_002_pipeline(model_s3_path: str) -> Pipeline:
    """Seed 002's connections: packaging -> registration, the packaged model read as
    ``ProcessingOutputConfig.Outputs[0].S3Output.S3Uri``."""
    packaging = PackagingStepBuilder(
        PackagingConfig(
            **VERSIONS, source_dir=CODE, inference_entry_point="inference.py", role=role
        )
    ).create_step(name="Packaging", model_input=model_s3_path)
    registration = RegistrationStepBuilder(
        RegistrationConfig(
            **VERSIONS,
            model_package_group_name="bsm",
            content_types=["text/csv"],
            response_types=["text/csv"],
            role=role,
        )
    ).create_step(
        dependencies=[packaging],
        name="Registration",
        packaged_model=packaging.properties.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri,
    )
    return Pipeline("bsm", [packaging, registration])


def test_seed_002_outputs_0_compiles_to_the_sdk_path() -> None:
    compiled = compile_pipeline(seed_002_pipeline("s3://bucket/path/to/model.tar.gz"))
    steps = {s["Name"]: s for s in compiled.definition["Steps"]}  # type: ignore[union-attr,index]
    container = steps["Registration"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.Packaging.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"},
                "model.tar.gz",
            ],
        }
    }


def read_object(storage: RoutedStorage, uri: str) -> bytes:
    with storage.open_read(uri) as handle:
        return handle.read()


def run_locally(pipeline: Pipeline, home: Path) -> ExecutionOutcome:
    options = RunOptions(home=home, storage="local")
    _, definition = compile_for_local(pipeline, get_storage("local", home))
    return run_definition(
        definition,
        {},
        options,
        name=pipeline.name,
        root=pipeline.root,
        source_ir=pipeline.to_json(),
    )


def test_outputs_0_is_evaluated_by_the_local_engine(
    tmp_path: Path, sagepipe_home_dir: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    # $SAGEPIPE_OPT_ML stands in for /opt/ml where the engine cannot mount it (any machine).
    opt_ml = "pathlib.Path(os.environ.get('SAGEPIPE_OPT_ML', '/opt/ml'))"
    (code / "write.py").write_text(
        "import os, pathlib\n"
        f"out = {opt_ml} / 'processing/output'\n"
        "(out / 'first' / 'a.txt').write_text('first output')\n"
        "(out / 'second' / 'b.txt').write_text('second output')\n"
    )
    (code / "read.py").write_text(
        "import os, pathlib\n"
        f"given = {opt_ml} / 'processing/input/given'\n"
        "found = sorted(p.name for p in given.rglob('*'))\n"
        f"({opt_ml} / 'processing/output/seen/seen.txt').write_text(','.join(found))\n"
    )
    writer = ProcessingStepBuilder(
        ProcessingConfig(
            **VERSIONS,
            source_dir=str(code),
            processing_entry_point="write.py",
            outputs=[ProcessingOutput(name="first"), ProcessingOutput(name="second")],
        )
    ).create_step(name="write")
    reader = ProcessingStepBuilder(
        ProcessingConfig(
            **VERSIONS,
            source_dir=str(code),
            processing_entry_point="read.py",
            inputs=[ProcessingInput(name="given")],
            outputs=[ProcessingOutput(name="seen")],
        )
    ).create_step(
        name="read", given=writer.properties.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri
    )
    outcome = run_locally(
        Pipeline("outputs-index", [writer, reader], root=tmp_path), sagepipe_home_dir
    )
    assert outcome.status == "Succeeded", outcome.failure_reason
    storage = get_storage("local", sagepipe_home_dir)
    [read] = [s for s in outcome.steps if s.name == "read"]
    [seen] = read.properties["ProcessingOutputConfig"]["Outputs"]
    assert read_object(storage, seen["S3Output"]["S3Uri"].rstrip("/") + "/seen.txt") == b"b.txt"


def test_seed_000_template_runs_locally_end_to_end(tmp_path: Path, sagepipe_home_dir: Path) -> None:
    pipeline = seed_000_template(**seed_configs())
    outcome = run_locally(pipeline, sagepipe_home_dir)
    assert outcome.status == "Succeeded", outcome.failure_reason
    steps = {s.name: s for s in outcome.steps}
    assert set(steps) >= {"data_load", "preprocess", "train", "model", "transform"}
    storage = get_storage("local", sagepipe_home_dir)

    def output(step: str, name: str) -> str:
        outputs = steps[step].properties["ProcessingOutputConfig"]["Outputs"]
        [uri] = [o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == name]
        return str(uri).rstrip("/")

    processed = output("preprocess", "processed_data")
    sets = {
        name: list(
            csv.DictReader(
                io.StringIO(read_object(storage, f"{processed}/{name}/{name}.csv").decode())
            )
        )
        for name in ("train", "val", "test")
    }
    assert sum(len(rows) for rows in sets.values()) == 344  # every penguin, once
    for rows in sets.values():
        assert {r["species"] for r in rows} == {"Adelie", "Chinstrap", "Gentoo"}
    test_labels = [r["species"] for r in sets["test"]]
    transform_output = steps["transform"].properties["TransformOutput"]["S3OutputPath"]
    predicted = (
        read_object(storage, f"{str(transform_output).rstrip('/')}/test_data.csv.out")
        .decode()
        .splitlines()
    )
    assert len(predicted) == len(test_labels)
    accuracy = sum(p == t for p, t in zip(predicted, test_labels, strict=True)) / len(test_labels)
    print(f"nearest-centroid accuracy on the test split: {accuracy:.3f}")
    assert accuracy > 0.8, predicted
