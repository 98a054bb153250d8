"""Config of the batch transform step."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType, PositiveInt, S3Uri

_JOINABLE = ("text/csv", "application/json")


class BatchTransformConfig(BasePipelineConfig):
    """A batch transform job over every object under an input prefix.

    Attributes:
        transform_instance_type: Default ``ml.m5.large``.
        transform_instance_count: Default 1.
        content_type: Content type of the input records; default ``text/csv``.
        accept: Content type of the output; default ``text/csv``.
        split_type: ``Line`` splits objects into records; ``None`` sends whole objects.
        batch_strategy: ``MultiRecord`` batches records up to ``max_payload_mb``;
            ``SingleRecord`` sends one record per request.
        max_payload_mb: Largest request body, 0-100 MB; default 6.
        max_concurrent_transforms: Parallel requests per instance; default 1.
        assemble_with: ``Line`` writes one output record per line; ``None`` concatenates.
        join_source: ``Input`` joins each output record with its input record.
        output_path: Where ``<name>.out`` files go; default under the execution's prefix.
    """

    step_type: ClassVar[str] = "BatchTransformStep"

    transform_instance_type: InstanceType = "ml.m5.large"
    transform_instance_count: PositiveInt = 1
    content_type: str = "text/csv"
    accept: str = "text/csv"
    split_type: Literal["Line", "None"] = "Line"
    batch_strategy: Literal["SingleRecord", "MultiRecord"] = "MultiRecord"
    max_payload_mb: int = Field(default=6, ge=0, le=100)
    max_concurrent_transforms: PositiveInt = 1
    assemble_with: Literal["Line", "None"] = "Line"
    join_source: Literal["Input", "None"] = "None"
    output_path: S3Uri | None = None

    @model_validator(mode="after")
    def _check(self) -> BatchTransformConfig:
        if self.join_source == "Input":
            if self.content_type not in _JOINABLE or self.accept not in _JOINABLE:
                raise ValueError(
                    "join_source Input needs content_type and accept in "
                    f"{', '.join(_JOINABLE)} (got {self.content_type} -> {self.accept})"
                )
            if self.assemble_with != "Line":
                raise ValueError("join_source Input needs assemble_with Line")
        if self.batch_strategy == "MultiRecord" and self.split_type == "None":
            raise ValueError(
                "batch_strategy MultiRecord needs split_type Line (with None each object is "
                "one record); use SingleRecord or split_type Line"
            )
        return self
