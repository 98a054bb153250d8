"""Config of the payload step: sample requests for testing a registered model."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType
from sagepipe.config.hyperparameters import ModelHyperparameters

SUPPORTED_PAYLOAD_TYPES = ("text/csv", "application/json")


class PayloadConfig(BasePipelineConfig):
    """Generates sample payloads from the model's field lists.

    Attributes:
        content_types: Formats to generate; each one of ``text/csv``, ``application/json``.
        default_numeric_value: Value of every numeric (tab) field; default 0.0.
        default_text_value: Value of every categorical field; default ``"DEFAULT_TEXT"``.
        field_defaults: Per-field overrides.
        sample_count: Records per payload; default 1.
        hyperparameters: Field lists to use when the model archive has no
            ``hyperparameters.json``.
        processing_instance_type: Instance of the processing job on SageMaker.
        image_uri: The processing job's image, instead of the SDK's PyTorch 2.1.0 training
            image the step's script runs on; a local run needs one the SDK knows.
    """

    step_type: ClassVar[str] = "PayloadStep"

    content_types: list[str] = Field(default_factory=lambda: list(SUPPORTED_PAYLOAD_TYPES))
    default_numeric_value: float = 0.0
    default_text_value: str = "DEFAULT_TEXT"
    field_defaults: dict[str, str | float] = Field(default_factory=dict)
    sample_count: int = Field(default=1, ge=1, le=10000)
    hyperparameters: ModelHyperparameters | None = None
    processing_instance_type: InstanceType = "ml.m5.large"
    image_uri: str | None = None

    @model_validator(mode="after")
    def _check(self) -> PayloadConfig:
        if not self.content_types:
            raise ValueError(
                "content_types is empty; list at least one of " + ", ".join(SUPPORTED_PAYLOAD_TYPES)
            )
        unknown = [t for t in self.content_types if t not in SUPPORTED_PAYLOAD_TYPES]
        if unknown:
            raise ValueError(
                f"content_types {unknown} are not supported; use "
                + ", ".join(SUPPORTED_PAYLOAD_TYPES)
            )
        if len(set(self.content_types)) != len(self.content_types):
            raise ValueError(f"content_types repeat a type: {self.content_types}")
        if self.hyperparameters is not None:
            features = set(self.hyperparameters.tab_field_list) | set(
                self.hyperparameters.cat_field_list
            )
            unknown_fields = sorted(set(self.field_defaults) - features)
            if unknown_fields:
                raise ValueError(
                    f"field_defaults names fields that are not features: {unknown_fields}"
                )
        return self
