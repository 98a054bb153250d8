"""The runner of each step type, looked up by ``Step.step_type``.

Later step types plug in by adding an entry to :data:`RUNNERS`. Runner modules import only
light modules at top level: they are imported by every step process.
"""

from __future__ import annotations

from sagepipe.local.runners.base import Runner, StepContext, StepOutcome
from sagepipe.local.runners.endpoint import EndpointRunner
from sagepipe.local.runners.model import ModelRunner
from sagepipe.local.runners.packaging import PackagingRunner
from sagepipe.local.runners.payload import PayloadRunner
from sagepipe.local.runners.processing import ProcessingRunner
from sagepipe.local.runners.registration import RegistrationRunner
from sagepipe.local.runners.training import TrainingRunner
from sagepipe.local.runners.transform import TransformRunner

RUNNERS: dict[str, Runner] = {
    "ProcessingStep": ProcessingRunner(),
    "PyTorchTrainingStep": TrainingRunner(),
    "PyTorchModelStep": ModelRunner(),
    "PackagingStep": PackagingRunner(),
    "PayloadStep": PayloadRunner(),
    "RegistrationStep": RegistrationRunner(),
    "BatchTransformStep": TransformRunner(),
    "EndpointStep": EndpointRunner(),
}

__all__ = ["RUNNERS", "Runner", "StepContext", "StepOutcome"]
