"""The data-loading and tabular preprocessing steps: configs, sources (URI, local path,
pipeline parameter), the same pipeline from a config file, and template builder lookup."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sagepipe.config import (
    ConfigValidationError,
    DataLoadingConfig,
    ProcessingConfig,
    TabularPreprocessingConfig,
)
from sagepipe.definitions.loading import load_pipeline
from sagepipe.errors import PipelineDefinitionError
from sagepipe.expressions import ParameterString
from sagepipe.pipeline import Pipeline, PipelineBuilderTemplate, PipelineDAG
from sagepipe.sagemaker import compile_pipeline
from sagepipe.steps import (
    DataLoadingStepBuilder,
    ProcessingStepBuilder,
    TabularPreprocessingStepBuilder,
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_a_parameter_source_stays_the_parameter_in_ir_and_definition() -> None:
    source = ParameterString("InputData", "s3://bucket/raw/")
    step = DataLoadingStepBuilder(DataLoadingConfig(source=source, role=ROLE)).create_step(
        name="load"
    )
    assert step.inputs["source"].value == {"Get": "Parameters.InputData"}
    assert "source" not in step.config
    pipeline = Pipeline("p", [step])
    assert [p.name for p in pipeline.parameters] == ["InputData"]
    [compiled] = compile_pipeline(pipeline).definition["Steps"]  # type: ignore[misc]
    [source_input] = [
        i for i in compiled["Arguments"]["ProcessingInputs"] if i["InputName"] == "source"
    ]
    assert source_input["S3Input"]["S3Uri"] == {"Get": "Parameters.InputData"}


def test_a_local_source_is_made_absolute_and_uploaded(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("a,label\n1,x\n")
    config = TabularPreprocessingConfig(
        label_name="label", source=str(tmp_path / "data"), role=ROLE
    )
    step = TabularPreprocessingStepBuilder(config).create_step(name="split")
    assert step.inputs["data"].value == str(tmp_path / "data")
    compiled = compile_pipeline(Pipeline("p", [step], root=tmp_path))
    [upload] = [u for u in compiled.uploads if "/data/" in u.uri]
    assert [f.arcname for f in upload.bundle.files] == ["t.csv"]
    [compiled_step] = compiled.definition["Steps"]  # type: ignore[misc]
    [data] = [i for i in compiled_step["Arguments"]["ProcessingInputs"] if i["InputName"] == "data"]
    assert data["S3Input"]["S3Uri"] == upload.uri


def test_without_a_source_the_data_input_is_required() -> None:
    with pytest.raises(PipelineDefinitionError, match="needs input 'data'"):
        TabularPreprocessingStepBuilder(TabularPreprocessingConfig(label_name="y")).create_step()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be less than 1"),
        ({"val_fraction": 0}, "val_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"label_name": ""}, "label_name"),
    ],
)
def test_preprocessing_config_rules(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigValidationError, match=message):
        TabularPreprocessingConfig(**{"label_name": "y", **fields})


def test_data_loading_needs_a_pattern() -> None:
    with pytest.raises(ConfigValidationError, match="include needs at least one"):
        DataLoadingConfig(source="s3://b/raw/", include=[])


def test_the_seed_pipeline_from_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("a,label\n1,x\n")
    (tmp_path / "pipeline.yaml").write_text(
        textwrap.dedent(
            """\
            configs:
              data_load:
                config_type: DataLoadingConfig
                source: data
                include: ["*.csv"]
              preprocess:
                config_type: TabularPreprocessingConfig
                label_name: label
                val_fraction: 0.25
                test_fraction: 0.25
            pipeline:
              dag:
                edges:
                  - [data_load, preprocess]
            """
        )
    )
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    load = pipeline.step("data_load")
    assert load.step_type == "DataLoadingStep"
    assert load.inputs["source"].value == str(tmp_path / "data")
    split = pipeline.step("preprocess")
    assert split.config["val_fraction"] == 0.25
    assert split.inputs["data"].value == {
        "Get": "Steps.data_load.ProcessingOutputConfig.Outputs['data'].S3Output.S3Uri"
    }


def test_two_builders_for_one_config_class_need_the_step_type_key(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "run.py").write_text("")

    class OtherProcessingBuilder(ProcessingStepBuilder):
        pass

    with pytest.raises(PipelineDefinitionError) as caught:
        PipelineBuilderTemplate(
            dag=PipelineDAG(nodes=["prep"]),
            config_map={
                "prep": ProcessingConfig(processing_entry_point="run.py", source_dir=str(code))
            },
            step_builder_map={"A": ProcessingStepBuilder, "B": OtherProcessingBuilder},
        )
    message = str(caught.value)
    assert "several builders in step_builder_map take" in message
    assert "OtherProcessingBuilder, ProcessingStepBuilder" in message
    assert "add step_builder_map['ProcessingStep']" in message
