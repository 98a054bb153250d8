"""PipelineBuilderTemplate: config and builder checks, explicit inputs, roles, fan-out."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.config import (
    BasePipelineConfig,
    ProcessingConfig,
    ProcessingOutput,
    PyTorchModelConfig,
    PyTorchTrainingConfig,
    RegistrationConfig,
)
from sagepipe.errors import CycleError, PipelineDefinitionError
from sagepipe.pipeline import OutputOf, PipelineBuilderTemplate, PipelineDAG
from sagepipe.steps import (
    DEFAULT_STEP_BUILDERS,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
)

CODE = str(Path(__file__).parent.parent / "resources" / "code")
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def configs() -> dict[str, BasePipelineConfig]:
    return {
        "prep": ProcessingConfig(
            processing_entry_point="preprocess.py",
            source_dir=CODE,
            outputs=[ProcessingOutput(name="processed_data")],
        ),
        "train": PyTorchTrainingConfig(
            source_dir=CODE, framework_version="2.1.0", py_version="py310"
        ),
        "model": PyTorchModelConfig(source_dir=CODE, framework_version="2.1.0", py_version="py310"),
    }


def dag() -> PipelineDAG:
    return PipelineDAG(
        nodes=["prep", "train", "model"], edges=[("prep", "train"), ("train", "model")]
    )


def test_seed_step_type_spelling_is_accepted() -> None:
    template = PipelineBuilderTemplate(
        dag=dag(),
        config_map=configs(),
        step_builder_map={
            "ProcessingStep": DEFAULT_STEP_BUILDERS["ProcessingStep"],
            "PyTorchTrainingStep": PyTorchTrainingStepBuilder,
            "PytorchModelStep": PyTorchModelStepBuilder,
        },
        sagemaker_session=None,
        role=ROLE,
    )
    pipeline = template.generate_pipeline("seed")
    assert [s.name for s in pipeline.execution_order()] == ["prep", "train", "model"]
    assert all(step.config["role"] == ROLE for step in pipeline.steps)


def test_a_node_without_config() -> None:
    partial = configs()
    del partial["model"]
    with pytest.raises(
        PipelineDefinitionError, match="DAG node 'model' has no config in config_map"
    ):
        PipelineBuilderTemplate(
            dag=dag(), config_map=partial, step_builder_map=DEFAULT_STEP_BUILDERS
        )


def test_a_config_that_is_not_a_node_suggests_the_closest_node() -> None:
    extra = {**configs(), "modle": configs()["model"]}
    with pytest.raises(
        PipelineDefinitionError,
        match="'modle', which is not a DAG node \\(did you mean 'model'\\?\\)",
    ):
        PipelineBuilderTemplate(dag=dag(), config_map=extra, step_builder_map=DEFAULT_STEP_BUILDERS)


def test_a_missing_builder_names_the_step_type() -> None:
    builders = {k: v for k, v in DEFAULT_STEP_BUILDERS.items() if k != "PyTorchModelStep"}
    with pytest.raises(PipelineDefinitionError) as caught:
        PipelineBuilderTemplate(dag=dag(), config_map=configs(), step_builder_map=builders)
    message = str(caught.value)
    assert "node 'model' has a PyTorchModelConfig" in message
    assert "step_builder_map['PyTorchModelStep']" in message


def test_inputs_for_an_unknown_node() -> None:
    with pytest.raises(
        PipelineDefinitionError, match=r"inputs names node 'trian'.*did you mean 'train'"
    ):
        PipelineBuilderTemplate(
            dag=dag(),
            config_map=configs(),
            step_builder_map=DEFAULT_STEP_BUILDERS,
            inputs={"trian": {"input_path": "s3://b/"}},
        )


def test_output_of_an_upstream_node() -> None:
    template = PipelineBuilderTemplate(
        dag=dag(),
        config_map=configs(),
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={"model": {"model_data": OutputOf("train", "model_artifacts")}},
    )
    model = template.generate_pipeline("p").step("model")
    assert model.inputs["model_data"].value == {
        "Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"
    }
    assert model.inputs["model_data"].source == "explicit"


def test_output_of_a_node_that_is_not_upstream() -> None:
    template = PipelineBuilderTemplate(
        dag=dag(),
        config_map=configs(),
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={"train": {"input_path": OutputOf("model", "model_name")}},
    )
    with pytest.raises(
        PipelineDefinitionError, match="'model' is not upstream of 'train'; add the edge"
    ):
        template.generate_pipeline("p")


def test_output_of_parse() -> None:
    parsed = OutputOf.parse("train.model_artifacts")
    assert (parsed.step, parsed.output) == ("train", "model_artifacts")
    for bad in ("train", ".x", "train."):
        with pytest.raises(PipelineDefinitionError, match=r"must look like '<step>\.<output>'"):
            OutputOf.parse(bad)


def test_output_of_a_fanned_out_node_is_ambiguous() -> None:
    registration = RegistrationConfig(
        model_package_group_name="g", regions=["us-east-1", "us-west-2"]
    )
    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=["register", "model"], edges=[("register", "model")]),
        config_map={"register": registration, "model": configs()["model"]},
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={
            "register": {"packaged_model": "s3://b/p.tar.gz"},
            "model": {"model_data": OutputOf("register", "model_package_arn")},
        },
    )
    with pytest.raises(PipelineDefinitionError, match="'register' has 2 steps"):
        template.generate_pipeline("p")


def test_fan_out_steps_all_depend_on_the_upstream_node() -> None:
    registration = RegistrationConfig(
        model_package_group_name="g", regions=["us-east-1", "eu-west-1"]
    )
    template = PipelineBuilderTemplate(
        dag=PipelineDAG(nodes=["register"]),
        config_map={"register": registration},
        step_builder_map=DEFAULT_STEP_BUILDERS,
        inputs={"register": {"packaged_model": "s3://b/p.tar.gz"}},
    )
    pipeline = template.generate_pipeline("p")
    assert [s.name for s in pipeline.steps] == ["register_us-east-1", "register_eu-west-1"]
    assert [s.config["region"] for s in pipeline.steps] == ["us-east-1", "eu-west-1"]
    assert [s.config["regions"] for s in pipeline.steps] == [["us-east-1"], ["eu-west-1"]]


def test_a_cycle_fails_before_building() -> None:
    cyclic = dag()
    cyclic.add_edge("model", "prep")
    template = PipelineBuilderTemplate(
        dag=cyclic, config_map=configs(), step_builder_map=DEFAULT_STEP_BUILDERS
    )
    with pytest.raises(CycleError) as caught:
        template.generate_pipeline("p")
    assert set(caught.value.cycle) == {"prep", "train", "model"}
