"""``TrainingInput``: one input channel, as ``sagemaker.inputs.TrainingInput``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagepipe.pytorch.errors import EstimatorError

#: The SDK's channel name for ``fit("s3://...")`` (``sagemaker.inputs`` default).
DEFAULT_CHANNEL = "training"


@dataclass(frozen=True)
class TrainingInput:
    """A channel's data for ``fit``.

    Args:
        s3_data: ``s3://`` prefix, ``file://`` URI or local path of the data.
        distribution: ``FullyReplicated`` (default) or ``ShardedByS3Key``.
        content_type: The channel's MIME type.
        s3_data_type: ``S3Prefix`` (default) or ``ManifestFile``.
        input_mode: ``File`` (default) or ``FastFile``/``Pipe`` (SageMaker only).
    """

    s3_data: str
    distribution: str | None = None
    content_type: str | None = None
    s3_data_type: str = "S3Prefix"
    input_mode: str | None = None

    def channel(self, name: str) -> dict[str, Any]:
        """The ``Channel`` of ``CreateTrainingJob`` for this input."""
        channel: dict[str, Any] = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": self.s3_data_type,
                    "S3Uri": self.s3_data,
                    "S3DataDistributionType": self.distribution or "FullyReplicated",
                }
            },
        }
        if self.content_type:
            channel["ContentType"] = self.content_type
        if self.input_mode:
            channel["InputMode"] = self.input_mode
        return channel


def normalise_inputs(inputs: Any) -> dict[str, TrainingInput]:
    """``fit``'s ``inputs`` as channel name -> :class:`TrainingInput`.

    Raises:
        EstimatorError: ``inputs`` is neither None, a URI, a TrainingInput nor a dict of them.
    """
    if inputs is None:
        return {}
    if isinstance(inputs, str):
        return {DEFAULT_CHANNEL: TrainingInput(inputs)}
    if isinstance(inputs, TrainingInput):
        return {DEFAULT_CHANNEL: inputs}
    if isinstance(inputs, dict):
        channels: dict[str, TrainingInput] = {}
        for name, value in inputs.items():
            if isinstance(value, str):
                channels[str(name)] = TrainingInput(value)
            elif isinstance(value, TrainingInput):
                channels[str(name)] = value
            else:
                raise EstimatorError(
                    f"fit inputs: channel {name!r} is a {type(value).__name__}; give a URI "
                    "string or a TrainingInput"
                )
        return channels
    raise EstimatorError(
        f"fit inputs is a {type(inputs).__name__}; give a URI string, a TrainingInput or a "
        "dict of channel names to them"
    )
