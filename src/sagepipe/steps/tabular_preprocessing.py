"""Tabular preprocessing step: a ready split of a table into train/val/test by label.

Runs sagepipe's own script (``sagemaker/container/split_table.py``) in a processing job: the
table under its ``data`` input (CSV or TSV files with a header) is split, stratified by the
label column and seeded, into ``processed_data/{train,val,test}/`` (the PyTorch training
step's ``data`` channel) and ``test_data/`` (the test rows without header and label, for a
batch transform).
"""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.tabular_preprocessing import TabularPreprocessingConfig
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.steps.data_inputs import DATA_TYPES, SourcedStepBuilder
from sagepipe.steps.processing import processing_output_path

STEP_TYPE = "TabularPreprocessingStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Processing",
    dependencies=(
        DependencySpec(
            logical_name="data",
            accepted_types=DATA_TYPES,
            description="Prefix with the table's CSV/TSV files (a data-loading step's data)",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="processed_data",
            output_type="processing_output",
            property_path=processing_output_path("processed_data"),
            description="train/, val/ and test/, each one <split>.csv with the header",
        ),
        OutputSpec(
            logical_name="test_data",
            output_type="processing_output",
            property_path=processing_output_path("test_data"),
            description="test_data.csv: the test rows without header and label column",
        ),
    ),
)

CONTRACT = ScriptContract(
    entry_point="split_table.py (built in)",
    input_paths={"data": "/opt/ml/processing/input/data"},
    output_paths={
        "processed_data": "/opt/ml/processing/output/processed_data",
        "test_data": "/opt/ml/processing/output/test_data",
    },
    description="Splits the table into train/val/test, stratified by the label, seeded",
)


class TabularPreprocessingStepBuilder(SourcedStepBuilder):
    """Builds a tabular preprocessing step; its ``data`` input is the config's ``source``, or
    is wired from a predecessor's ``data`` output (a data-loading step)."""

    config_class: ClassVar[type[TabularPreprocessingConfig]] = TabularPreprocessingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "TabularPreprocessing"
    source_input: ClassVar[str] = "data"

    config: TabularPreprocessingConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def contract(self) -> ScriptContract:
        return CONTRACT
