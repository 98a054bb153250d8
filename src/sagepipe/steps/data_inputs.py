"""Data inputs declared in a config (processing inputs, training channels): one required
input per name, wired by exact name or given explicitly, the config's own sources first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagepipe.config.processing import ProcessingInput
from sagepipe.config.training import TrainingChannel
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
