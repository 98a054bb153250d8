"""Small local implementations of a Processing call, for the engine's tests of definitions
(the real ones live in ``sagepipe.local.calls``). A test registers them in the registry and
puts this directory on ``PYTHONPATH``, so the step process imports them as the engine says.

``CopyObject`` copies the object ``Environment.SOURCE`` into its first output, as
``copy.txt``, with a property file ``report.json`` (``{"size": <bytes>}``); a missing source
fails the step with its URI. ``FlakyCopy`` fails with an ``OSError`` (a fault of the local
machinery) while the file ``Environment.FLAKY_MARKER`` (if set) does not exist, creating it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sagepipe.local.calls.base import CallContext, StepOutcome
from sagepipe.local.calls.images import image_problem
from sagepipe.local.errors import StepFailure


class CopyObject:
    """Copies one object into the step's output."""

    def problems(self, step_name: str, arguments: Mapping[str, Any]) -> list[str]:
        app = arguments.get("AppSpecification", {})
        problem = image_problem(step_name, "AppSpecification.ImageUri", app.get("ImageUri"))
        return [problem] if problem else []

    def run(self, context: CallContext) -> StepOutcome:
        request = context.request
        source = request["Environment"]["SOURCE"]
        if not context.storage.exists(source):
            raise StepFailure(f"Environment.SOURCE: {source} does not exist")
        output = request["ProcessingOutputConfig"]["Outputs"][0]
        target = output["S3Output"]["S3Uri"].rstrip("/")
        work = context.layout.work_dir
        work.mkdir(parents=True, exist_ok=True)
        copy = work / "copy.txt"
        context.storage.get_file(source, copy)
        report = work / "report.json"
        report.write_text(json.dumps({"size": copy.stat().st_size}))
        context.uploader.upload_file(copy, f"{target}/copy.txt")
        context.uploader.upload_file(report, f"{target}/report.json")
        context.log(f"copied {source} to {target}/copy.txt")
        return StepOutcome(
            properties={
                "ProcessingJobName": context.job_name,
                "ProcessingJobStatus": "Completed",
                "ProcessingOutputConfig": {
                    "Outputs": {output["OutputName"]: {"S3Output": {"S3Uri": target}}}
                },
            },
            outputs=[{"uri": target, "objects": 2}],
        )


class FlakyCopy(CopyObject):
    """A copy that fails once for a reason of the machine."""

    def run(self, context: CallContext) -> StepOutcome:
        marker_path = context.request["Environment"].get("FLAKY_MARKER")
        marker = Path(marker_path) if marker_path else None
        if marker is not None and not marker.exists():
            marker.write_text("failed once")
            raise OSError(28, "No space left on device (simulated once)")
        return super().run(context)
