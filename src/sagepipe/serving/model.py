"""``PyTorchModel``: the SageMaker SDK's model class, deployed to a local server.

``deploy(instance_type="local")`` starts ``sagepipe serve`` in a subprocess on a free
loopback port and returns a :class:`Predictor` bound to it; ``predictor.delete_endpoint()``
stops it. The server's output goes to ``predictor.log_path``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from sagepipe.serving.deserializers import BaseDeserializer
from sagepipe.serving.errors import ServingError
from sagepipe.serving.predictor import Predictor, stop_process
from sagepipe.serving.serializers import BaseSerializer

_READY = re.compile(r"listening on (http://\S+)")
_LOCAL_TYPES = ("local", "local_gpu")


class PyTorchModel:
    """A PyTorch model for SageMaker's PyTorch inference container, served locally.

    Args:
        model_data: ``model.tar.gz`` path or ``s3://`` URI, or a model directory.
        role: Accepted for SDK compatibility; unused locally.
        entry_point: Inference script (relative to ``source_dir``, or a path).
        source_dir: Directory with the script (default: the model's ``code/``).
        framework_version: Accepted for SDK compatibility (the local torch is used).
        py_version: Accepted for SDK compatibility.
        env: Environment variables of the model (limits, ``SAGEMAKER_*``).
        name: A name for the model (used in messages).
    """

    def __init__(
        self,
        model_data: str,
        role: str | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.model_data = str(model_data)
        self.role = role
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.framework_version = framework_version
        self.py_version = py_version
        self.env = dict(env or {})
        self.name = name or Path(self.model_data.rstrip("/")).name

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "local",
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        *,
        workers: int | None = None,
        port: int = 0,
        max_batch_size: int | None = None,
        max_batch_delay_ms: float | None = None,
        startup_timeout_s: float = 300.0,
    ) -> Predictor:
        """Start a local model server and return a Predictor for it.

        Raises:
            ServingError: a non-local instance type, or the server could not start (the
                tail of its log is in the message).
        """
        if instance_type not in _LOCAL_TYPES:
            raise ServingError(
                f"instance_type {instance_type!r} is not local; deploy here supports "
                f"{', '.join(_LOCAL_TYPES)} (use the sagemaker backend for real endpoints)"
            )
        if initial_instance_count != 1:
            raise ServingError(
                "a local deployment runs one server; set initial_instance_count=1 and use "
                "workers= for parallelism"
            )
        command = [sys.executable, "-m", "sagepipe", "serve", self.model_data, "--port", str(port)]
        for flag, value in (
            ("--entry-point", self.entry_point),
            ("--source-dir", self.source_dir),
            ("--workers", workers),
            ("--max-batch-size", max_batch_size),
            ("--max-batch-delay-ms", max_batch_delay_ms),
        ):
            if value is not None:
                command += [flag, str(value)]
        log_path = Path(tempfile.mkstemp(prefix="sagepipe-endpoint-", suffix=".log")[1])
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
            )
        url = _wait_ready(process, log_path, startup_timeout_s)
        predictor = Predictor(url, serializer, deserializer)
        predictor.attach_process(process, log_path)
        # Stop the server if the caller forgets delete_endpoint().
        weakref.finalize(predictor, stop_process, process, 10.0)
        return predictor


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        match = _READY.search(text)
        if match:
            return match.group(1)
        if process.poll() is not None:
            tail = "\n".join(text.strip().splitlines()[-10:])
            raise ServingError(
                f"the local model server exited with status {process.returncode}:\n{tail}"
            )
        time.sleep(0.05)
    stop_process(process, 10.0)
    raise ServingError(
        f"the local model server was not ready within {timeout_s:g} s; see {log_path}"
    )
