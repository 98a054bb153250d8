"""The SageMaker Python SDK's PyTorch API, on sagepipe: keep your code, run it locally.

* :class:`PyTorch` trains (``fit``, ``attach``) and deploys (``deploy``) as
  ``sagemaker.pytorch.PyTorch``; ``instance_type="local"`` runs on this machine.
* :class:`PyTorchModel` deploys, creates and registers a trained model.
* :class:`TrainingInput` is a channel of ``fit``.
* :func:`get_execution_role` is the SDK's ``sagemaker.get_execution_role`` (also
  ``sagepipe.get_execution_role``).
* :class:`ModelTrainer` (with :class:`SourceCode`, :class:`Compute`, :class:`InputData`,
  :class:`Torchrun`) is the SDK's newer training API on the same runtime.

Importing this package is cheap: boto3, torch and the server stack load when used.
"""

from sagepipe.execution_role import get_execution_role
from sagepipe.pytorch.errors import EstimatorError, JobNotFoundError, TrainingFailedError
from sagepipe.pytorch.estimator import PyTorch
from sagepipe.pytorch.inputs import TrainingInput
from sagepipe.pytorch.model import PyTorchModel
from sagepipe.pytorch.trainer import (
    Compute,
    InputData,
    ModelTrainer,
    OutputDataConfig,
    SourceCode,
    StoppingCondition,
    Torchrun,
)

__all__ = [
    "Compute",
    "EstimatorError",
    "InputData",
    "JobNotFoundError",
    "ModelTrainer",
    "OutputDataConfig",
    "PyTorch",
    "PyTorchModel",
    "SourceCode",
    "StoppingCondition",
    "Torchrun",
    "TrainingFailedError",
    "TrainingInput",
    "get_execution_role",
]
