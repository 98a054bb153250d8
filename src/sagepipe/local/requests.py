"""A definition step's concrete request: its ``Arguments`` evaluated against an execution.

What expressions read: the execution's bound parameters, the properties recorded by the
steps that finished (``Get`` of ``Steps.<step>.<path>``), the ``Execution.*`` variables, and
property files (``Std:JsonGet``): the JSON file a processing step wrote at ``FilePath`` under
the ``S3Uri`` of its output ``OutputName``, read from storage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sagepipe.local.definition.model import Definition, JobStep
from sagepipe.local.errors import ExpressionEvaluationError
from sagepipe.local.evaluation import EvaluationContext
from sagepipe.storage import Storage, StorageError

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class ExecutionIdentity:
    """What ``Execution.*`` variables name.

    Attributes:
        pipeline_name: The pipeline.
        execution_id: The execution.
        start_time: When it started (seconds since the epoch).
        region: Its region (for ARNs).
    """

    pipeline_name: str
    execution_id: str
    start_time: float
    region: str = DEFAULT_REGION

    def variables(self) -> dict[str, str]:
        """The execution variables now (``CurrentDateTime`` is now)."""
        arn = f"arn:aws:sagemaker:{self.region}:000000000000:pipeline/{self.pipeline_name.lower()}"
        return {
            "PipelineExecutionId": self.execution_id,
            "PipelineExecutionArn": f"{arn}/execution/{self.execution_id}",
            "PipelineName": self.pipeline_name,
            "PipelineArn": arn,
            "StartDateTime": _iso(self.start_time),
            "CurrentDateTime": _iso(time.time()),
        }


def definition_context(
    definition: Definition,
    identity: ExecutionIdentity,
    parameters: Mapping[str, Any],
    properties: Mapping[str, Mapping[str, Any]],
    storage: Storage,
) -> EvaluationContext:
    """What the expressions of a definition's steps read now."""
    reader = PropertyFileReader(definition, properties, storage)
    return EvaluationContext(
        parameters=parameters,
        properties=properties,
        execution=identity.variables(),
        property_file=reader.read,
    )


class PropertyFileReader:
    """Reads the property files of finished processing steps (``Std:JsonGet``), once each."""

    def __init__(
        self,
        definition: Definition,
        properties: Mapping[str, Mapping[str, Any]],
        storage: Storage,
    ) -> None:
        self._steps = {
            p.step.Name: p.step for p in definition.placed_steps() if isinstance(p.step, JobStep)
        }
        self._properties = properties
        self._storage = storage
        self._read: dict[tuple[str, str], Any] = {}

    def read(self, step_name: str, file_name: str) -> Any:
        """The parsed JSON of property file ``file_name`` of step ``step_name``.

        Raises:
            ExpressionEvaluationError: naming the step, the file and the URI.
        """
        key = (step_name, file_name)
        if key not in self._read:
            self._read[key] = self._load(step_name, file_name)
        return self._read[key]

    def _load(self, step_name: str, file_name: str) -> Any:
        step = self._steps.get(step_name)
        declared = (
            [f for f in step.PropertyFiles if f.PropertyFileName == file_name] if step else []
        )
        if not declared:
            raise ExpressionEvaluationError(
                f"Std:JsonGet reads property file {file_name!r} of step {step_name!r}, which "
                "that step does not declare in its PropertyFiles"
            )
        spec = declared[0]
        uri = _output_uri(self._properties.get(step_name, {}), spec.OutputName)
        if uri is None:
            raise ExpressionEvaluationError(
                f"Std:JsonGet reads property file {file_name!r} of step {step_name!r}, but the "
                f"step recorded no S3Uri for its output {spec.OutputName!r}"
            )
        location = f"{uri.rstrip('/')}/{spec.FilePath.lstrip('/')}"
        try:
            with self._storage.open_read(location) as reader:
                text = reader.read()
        except (StorageError, OSError) as exc:
            raise ExpressionEvaluationError(
                f"property file {file_name!r} of step {step_name!r} cannot be read from "
                f"{location}: {exc}"
            ) from None
        try:
            return json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ExpressionEvaluationError(
                f"property file {file_name!r} of step {step_name!r} ({location}) is not JSON: {exc}"
            ) from None


def _output_uri(properties: Mapping[str, Any], output_name: str) -> str | None:
    """``ProcessingOutputConfig.Outputs[output_name].S3Output.S3Uri`` of recorded properties
    (outputs keyed by name, as property paths read them, or listed, as Describe* has them)."""
    config = properties.get("ProcessingOutputConfig")
    outputs = config.get("Outputs") if isinstance(config, Mapping) else None
    found: Any = None
    if isinstance(outputs, Mapping):
        found = outputs.get(output_name)
    elif isinstance(outputs, list):
        found = next(
            (o for o in outputs if isinstance(o, Mapping) and o.get("OutputName") == output_name),
            None,
        )
    s3 = found.get("S3Output") if isinstance(found, Mapping) else None
    uri = s3.get("S3Uri") if isinstance(s3, Mapping) else None
    return uri if isinstance(uri, str) else None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()
