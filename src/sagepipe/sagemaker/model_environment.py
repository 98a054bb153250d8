"""The container environment of a ``CreateModel`` (and model package) request: the one
builder the compiler and the SDK-style classes (``PyTorchModel``) use.

As the SageMaker Python SDK's script-mode models write it (``FrameworkModel
._script_mode_env_vars``): ``SAGEMAKER_PROGRAM`` (the entry point's file name),
``SAGEMAKER_SUBMIT_DIRECTORY`` (``/opt/ml/model/code``: the PyTorch inference container
imports the code from the model archive's ``code/`` only, so a model with code is repacked
with it there), ``SAGEMAKER_CONTAINER_LOG_LEVEL`` and ``SAGEMAKER_REGION``. The model's own
variables come first and these win, as in the SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import PurePosixPath

CONTAINER_CODE_DIR = "/opt/ml/model/code"
"""Where the PyTorch inference container finds the model's code (``code/`` of the archive)."""
LOG_LEVEL = str(logging.INFO)


def model_environment(
    region: str,
    entry_point: str | None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a PyTorch inference container.

    Args:
        region: The region the model is created in.
        entry_point: The inference script (a file name or a path: its name is used), or
            ``None`` for a model served by the container's default handlers.
        environment: The model's own variables.

    Returns:
        The variables, sorted by name.
    """
    merged = dict(environment or {})
    if entry_point:
        merged["SAGEMAKER_PROGRAM"] = PurePosixPath(entry_point).name
        merged["SAGEMAKER_SUBMIT_DIRECTORY"] = CONTAINER_CODE_DIR
    merged["SAGEMAKER_CONTAINER_LOG_LEVEL"] = LOG_LEVEL
    merged["SAGEMAKER_REGION"] = region
    return dict(sorted(merged.items()))
