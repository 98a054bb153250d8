"""``serve``: resolve a model, prepare its requirements, run the workers until stopped."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from sagepipe.serving.model_source import prepare_model
from sagepipe.serving.requirements import requirements_python
from sagepipe.serving.settings import settings_from_environment
from sagepipe.serving.supervisor import Supervisor


def serve(
    model: str,
    *,
    entry_point: str | None = None,
    source_dir: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int | None = None,
    max_batch_size: int | None = None,
    max_batch_delay_ms: float | None = None,
    max_queue: int | None = None,
    env: Mapping[str, str] | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve a SageMaker PyTorch model over HTTP until SIGTERM or SIGINT.

    Args:
        model: A model directory, a ``model.tar.gz`` path or an ``s3://`` URI of one.
        entry_point: Inference script (default ``SAGEMAKER_PROGRAM`` or ``inference.py``).
        source_dir: Directory (or ``sourcedir.tar.gz``) with the script; default MODEL's
            ``code/``.
        host: Address to bind; keep 127.0.0.1 unless the server must be reachable.
        port: TCP port; 0 picks a free one (``on_ready`` receives the URL).
        workers: Worker processes (default ``SAGEMAKER_MODEL_SERVER_WORKERS`` or cores).
        max_batch_size: Dynamic batching: largest batch (default 1, off).
        max_batch_delay_ms: How long an idle worker waits for a batch to fill (default 0).
        max_queue: Invocations a worker queues beyond its in-flight limit before 503.
        env: The model's environment (default: this process's); limits are read from it.
        on_ready: Called with the base URL once every worker has loaded the model.

    Raises:
        ServingError: MODEL, the code or the requirements are unusable, or the model
            could not be loaded (the worker's reason is in the message).
    """
    environment = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="sagepipe-serve-") as work:
        source = prepare_model(model, Path(work), environment, entry_point, source_dir)
        python = requirements_python(source.requirements) if source.requirements else sys.executable
        settings = settings_from_environment(
            environment,
            model_dir=source.model_dir,
            code_dir=source.code_dir,
            program=source.program,
            host=host,
            port=port,
            workers=workers,
            max_batch_size=max_batch_size,
            max_batch_delay_ms=max_batch_delay_ms,
            max_queue=max_queue,
        )
        Supervisor(settings, python, environment).run(on_ready)
