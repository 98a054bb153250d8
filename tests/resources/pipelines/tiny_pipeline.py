"""A tiny pipeline declared in Python with the seed API (used by the loading tests)."""

from __future__ import annotations

from pathlib import Path

from sagepipe.config import ProcessingConfig, ProcessingOutput, PyTorchTrainingConfig
from sagepipe.pipeline import Pipeline, PipelineBuilderTemplate, PipelineDAG
from sagepipe.steps import DEFAULT_STEP_BUILDERS

CODE = Path(__file__).parent.parent / "code"
NOT_A_PIPELINE = 42


def build() -> Pipeline:
    dag = PipelineDAG(nodes=["preprocess", "train"], edges=[("preprocess", "train")])
    config_map = {
        "preprocess": ProcessingConfig(
            processing_entry_point="preprocess.py",
            source_dir=str(CODE),
            outputs=[ProcessingOutput(name="processed_data")],
        ),
        "train": PyTorchTrainingConfig(
            source_dir=str(CODE), framework_version="2.1.0", py_version="py310"
        ),
    }
    template = PipelineBuilderTemplate(
        dag=dag, config_map=config_map, step_builder_map=DEFAULT_STEP_BUILDERS
    )
    return template.generate_pipeline("tiny-python")


def needs_arguments(name: str) -> Pipeline:
    return build()


def returns_wrong_type() -> str:
    return "not a pipeline"


pipeline = build()
