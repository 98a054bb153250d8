"""What the SageMaker training container does, on this machine and without Docker.

:func:`run_training_job` lays out the ``/opt/ml`` tree, exports the training toolkit's SM_*
environment, installs ``requirements.txt`` into a cached virtualenv, runs the entry point
(with torchrun for distributed jobs, over simulated hosts ``algo-1..N``), streams its log,
captures metrics and reports the failure reason. :func:`make_archive` turns ``model/`` into
``model.tar.gz``.
"""

from sagepipe.training.archive import make_archive
from sagepipe.training.environment import HostLayout
from sagepipe.training.errors import TrainingJobError
from sagepipe.training.job import host_layouts, run_training_job
from sagepipe.training.requirements import RequirementsError
from sagepipe.training.spec import MetricPoint, TrainingJobResult, TrainingJobSpec

__all__ = [
    "HostLayout",
    "MetricPoint",
    "RequirementsError",
    "TrainingJobError",
    "TrainingJobResult",
    "TrainingJobSpec",
    "host_layouts",
    "make_archive",
    "run_training_job",
]
