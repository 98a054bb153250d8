"""Config of the tabular preprocessing step: a table split into train/val/test by label."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType, resolve_data_source


class TabularPreprocessingConfig(BasePipelineConfig):
    """Splits a table (CSV or TSV files with a header row) into train, validation and test
    sets, stratified by the label column and seeded, for the PyTorch training step's ``data``
    channel.

    Attributes:
        label_name: Column whose values stratify the split; required.
        val_fraction: Share of each label value's rows in the validation set; default 0.15.
        test_fraction: Share in the test set; default 0.15. Each fraction is in (0, 1) and
            they sum to less than 1; the rest is the training set.
        seed: Seed of the shuffle; the same data and settings give the same files.
        source: ``s3://`` URI, ``file://`` URI or local path of the table; a pipeline
            parameter may give it. ``None`` (the default) wires the ``data`` input from a
            predecessor's output named ``data`` (a data-loading step).
        processing_instance_type: Instance of the processing job on SageMaker.
        image_uri: The processing job's image, instead of the SDK's PyTorch 2.1.0 training
            image the step's script runs on; a local run needs one the SDK knows.
    """

    local_path_fields: ClassVar[frozenset[str]] = frozenset({"source"})

    step_type: ClassVar[str] = "TabularPreprocessingStep"

    label_name: str = Field(min_length=1)
    val_fraction: float = Field(default=0.15, gt=0, lt=1)
    test_fraction: float = Field(default=0.15, gt=0, lt=1)
    seed: int = 42
    source: str | None = None
    processing_instance_type: InstanceType = "ml.m5.large"
    image_uri: str | None = None

    @field_validator("source")
    @classmethod
    def _resolve_local_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        return resolve_data_source(value, info)

    @model_validator(mode="after")
    def _check_fractions(self) -> TabularPreprocessingConfig:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction {self.val_fraction} + test_fraction {self.test_fraction} must be "
                "less than 1, so that rows are left for training"
            )
        return self
