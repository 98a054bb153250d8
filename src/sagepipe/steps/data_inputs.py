"""Data inputs declared in a config (processing inputs, training channels): one required
input per name, wired by exact name or given explicitly, the config's own sources first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sagepipe.config.data_loading import DataLoadingConfig
from sagepipe.config.processing import ProcessingInput
from sagepipe.config.tabular_preprocessing import TabularPreprocessingConfig
from sagepipe.config.training import TrainingChannel
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import DependencySpec

# A data input can read any data another step writes; names decide the wiring.
DATA_TYPES = (
    "processing_output",
    "model_artifacts",
    "packaged_model",
    "payload_samples",
    "transform_output",
    "training_output",
)


def data_dependencies(names: Sequence[str]) -> tuple[DependencySpec, ...]:
    """One required input per name, fed by a predecessor's output of exactly that name (any
    data type) or given explicitly."""
    return tuple(DependencySpec(logical_name=name, accepted_types=DATA_TYPES) for name in names)


def configured_sources(items: Sequence[ProcessingInput | TrainingChannel]) -> dict[str, Any]:
    """The sources a config names for its inputs, by name; a source bound to a pipeline
    parameter stays the parameter (not its default)."""
    return {
        item.name: item.parameter_bindings.get("source", item.source)
        for item in items
        if item.source is not None
    }


class SourcedStepBuilder(StepBuilder):
    """A builder whose config's ``source`` is its input :attr:`source_input` (a pipeline
    parameter stays the parameter), not a setting of its script; without a ``source`` the
    input is wired or given explicitly."""

    source_input: ClassVar[str]
    config: DataLoadingConfig | TabularPreprocessingConfig

    def config_json(self) -> dict[str, Any]:
        data = super().config_json()
        del data["source"]
        return data

    def configured_inputs(self) -> dict[str, Any]:
        source = self.config.parameter_bindings.get("source", self.config.source)
        return {} if source is None else {self.source_input: source}
