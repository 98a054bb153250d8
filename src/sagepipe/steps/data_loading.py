"""Data-loading step: the stand-in for Amazon-internal Cradle data loading.

The seed pipelines start with a ``CradleDataLoadStep``, which runs Amazon-internal Cradle jobs
that sagepipe cannot provide. This step takes data that already exists as files (an ``s3://``
prefix or object, a local path, or a pipeline parameter giving one) and copies the selected
files to its ``data`` output, which a :mod:`tabular preprocessing <.tabular_preprocessing>`
step reads. The seed's builder name is an import alias::

    from sagepipe.steps import DataLoadingStepBuilder as CradleDataLoadingStepBuilder
"""

from __future__ import annotations

from typing import ClassVar

from sagepipe.config.data_loading import DataLoadingConfig
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.steps.data_inputs import DATA_TYPES, SourcedStepBuilder
from sagepipe.steps.processing import processing_output_path

STEP_TYPE = "DataLoadingStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="Processing",
    dependencies=(
        DependencySpec(
            logical_name="source",
            accepted_types=DATA_TYPES,
            description="Prefix or object holding the data (the config's source by default)",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="data",
            output_type="processing_output",
            property_path=processing_output_path("data"),
            description="The selected files, at their paths relative to the source",
        ),
    ),
)

CONTRACT = ScriptContract(
    entry_point="load_data.py (built in)",
    input_paths={"source": "/opt/ml/processing/input/source"},
    output_paths={"data": "/opt/ml/processing/output/data"},
    description="Copies the files matching the include patterns from the source to data",
)


class DataLoadingStepBuilder(SourcedStepBuilder):
    """Builds a data-loading step: the source (config ``source``, or ``source=`` given to
    :meth:`create_step`) is copied to the ``data`` output."""

    config_class: ClassVar[type[DataLoadingConfig]] = DataLoadingConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "DataLoading"
    source_input: ClassVar[str] = "source"

    config: DataLoadingConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def contract(self) -> ScriptContract:
        return CONTRACT
