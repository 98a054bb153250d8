"""Server settings, from the command line and the model's environment variables.

The environment variables are SageMaker's (and its TorchServe toolkit's), so a model's
container environment configures this server as it configures the official one:

==========================================  =========================================
``SAGEMAKER_MAX_PAYLOAD_IN_MB``             largest request body (default 6) -> 413
``SAGEMAKER_MAX_CONCURRENT_INVOCATIONS``    invocations in flight per worker
``SAGEPIPE_MAX_QUEUE_SIZE``                 more waiting per worker before 503 (100)
``SAGEMAKER_TS_RESPONSE_TIMEOUT``,          seconds a handler may run before 504
``SAGEMAKER_MODEL_SERVER_TIMEOUT``,         (first one set wins; default 60)
``MMS_DEFAULT_RESPONSE_TIMEOUT``
``SAGEMAKER_MODEL_SERVER_WORKERS``          worker processes (default: cores)
``SAGEMAKER_TS_BATCH_SIZE``                 dynamic batching: largest batch (1 = off)
``SAGEMAKER_TS_MAX_BATCH_DELAY``            ms to wait for a batch to fill (default 0)
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``    Accept used for ``*/*`` or none (JSON)
``SAGEMAKER_PROGRAM``                       inference script (default inference.py)
``SAGEMAKER_SUBMIT_DIRECTORY``              where the script is (default MODEL/code)
==========================================  =========================================

SageMaker has no variables for the HTTP limits below; they are sagepipe's own:

==========================================  =========================================
``SAGEPIPE_MAX_HEADER_BYTES``               request line + headers (64 KiB) -> 431
``SAGEPIPE_REQUEST_READ_TIMEOUT``           seconds to receive a request once begun
                                            (60) -> 408
``SAGEPIPE_KEEP_ALIVE_TIMEOUT``             seconds an idle connection stays open (60)
``SAGEPIPE_MAX_CONNECTIONS``                connections per worker (1024, and fewer
                                            when ``RLIMIT_NOFILE`` is lower)
==========================================  =========================================
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path

from sagepipe.serving.errors import ServingError

DEFAULT_PROGRAM = "inference.py"
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_MAX_QUEUE = 100
DEFAULT_TIMEOUT_S = 60
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
#: SageMaker's invocation limit: no legitimate client takes longer to send one request.
DEFAULT_REQUEST_READ_TIMEOUT_S = 60
DEFAULT_KEEP_ALIVE_TIMEOUT_S = 60
DEFAULT_MAX_CONNECTIONS = 1024
_TIMEOUT_VARIABLES = (
    "SAGEMAKER_TS_RESPONSE_TIMEOUT",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT",
    "MMS_DEFAULT_RESPONSE_TIMEOUT",
)


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process needs; serialised to it as JSON.

    A plain dataclass, not a pydantic model: the server imports it before torch, and its
    start-up time is measured from launch to the first answered invocation.

    Attributes:
        model_dir: The extracted model directory.
        code_dir: Directory of the inference script (None: defaults only).
        program: Script file name in ``code_dir``.
        host: Address to bind; 127.0.0.1 unless asked otherwise.
        port: TCP port all workers share (``SO_REUSEPORT``).
        workers: Number of worker processes.
        threads: Torch intra-op threads per worker.
        max_payload_bytes: Largest request body.
        max_concurrent: Invocations in flight per worker (None: no separate limit).
        max_queue: Invocations waiting beyond ``max_concurrent`` before 503.
        timeout_s: Seconds a handler may run before the request is answered 504.
        max_batch_size: Largest dynamic batch (1 disables batching).
        max_batch_delay_ms: How long an idle worker waits for a batch to fill.
        default_accept: Accept used when a request sends none or ``*/*``.
        max_header_bytes: Largest request line + headers; larger is a 431.
        request_read_timeout_s: Seconds to receive a whole request once its first byte
            arrived; slower is a 408.
        keep_alive_timeout_s: Seconds a connection may stay idle between requests.
        max_connections: Open connections per worker; the worker lowers it to what
            ``RLIMIT_NOFILE`` allows.

    Raises:
        ServingError: a value is out of range (naming the setting).
    """

    model_dir: Path
    code_dir: Path | None
    program: str = DEFAULT_PROGRAM
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    threads: int = 1
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_MB * 1024 * 1024
    max_concurrent: int | None = None
    max_queue: int = DEFAULT_MAX_QUEUE
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_batch_size: int = 1
    max_batch_delay_ms: float = 0.0
    default_accept: str = "application/json"
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    request_read_timeout_s: float = DEFAULT_REQUEST_READ_TIMEOUT_S
    keep_alive_timeout_s: float = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}, got {value!r}"
            for name, value, ok, rule in (
                ("port", self.port, 0 <= self.port <= 65535, "0-65535"),
                ("workers", self.workers, self.workers >= 1, "at least 1"),
                ("threads", self.threads, self.threads >= 1, "at least 1"),
                ("max_payload_bytes", self.max_payload_bytes, self.max_payload_bytes >= 1, ">= 1"),
                (
                    "max_concurrent",
                    self.max_concurrent,
                    self.max_concurrent is None or self.max_concurrent >= 1,
                    "at least 1",
                ),
                ("max_queue", self.max_queue, self.max_queue >= 0, ">= 0"),
                ("timeout_s", self.timeout_s, self.timeout_s > 0, "> 0"),
                ("max_batch_size", self.max_batch_size, self.max_batch_size >= 1, "at least 1"),
                (
                    "max_batch_delay_ms",
                    self.max_batch_delay_ms,
                    self.max_batch_delay_ms >= 0,
                    ">= 0",
                ),
                (
                    "max_header_bytes",
                    self.max_header_bytes,
                    self.max_header_bytes >= 1024,
                    ">= 1024",
                ),
                (
                    "request_read_timeout_s",
                    self.request_read_timeout_s,
                    self.request_read_timeout_s > 0,
                    "> 0",
                ),
                (
                    "keep_alive_timeout_s",
                    self.keep_alive_timeout_s,
                    self.keep_alive_timeout_s > 0,
                    "> 0",
                ),
                ("max_connections", self.max_connections, self.max_connections >= 1, ">= 1"),
            )
            if not ok
        ]
        if problems:
            raise ServingError(f"invalid server settings: {'; '.join(problems)}")

    @property
    def capacity(self) -> int:
        """Invocations a worker holds (in flight plus queued) before answering 503."""
        return (self.max_concurrent or 0) + self.max_queue

    def to_json(self) -> str:
        """The settings as JSON (for a worker started as a subprocess)."""
        values = dataclasses.asdict(self)
        values["model_dir"] = str(self.model_dir)
        values["code_dir"] = None if self.code_dir is None else str(self.code_dir)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> WorkerSettings:
        """Settings written by :meth:`to_json`."""
        values = json.loads(text)
        values["model_dir"] = Path(values["model_dir"])
        if values["code_dir"] is not None:
            values["code_dir"] = Path(values["code_dir"])
        return cls(**values)


def env_int(env: Mapping[str, str], name: str, default: int | None, minimum: int = 0) -> int | None:
    """An integer environment variable, or ``default`` when unset or empty.

    Raises:
        ServingError: the value is not an integer >= ``minimum``.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServingError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ServingError(f"{name} must be at least {minimum}, got {value}")
    return value


def settings_from_environment(
    env: Mapping[str, str],
    *,
    model_dir: Path,
    code_dir: Path | None,
    program: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int | None = None,
    max_batch_size: int | None = None,
    max_batch_delay_ms: float | None = None,
    max_queue: int | None = None,
) -> WorkerSettings:
    """Combine command-line values (which win) with the model's environment variables."""
    cores = os.cpu_count() or 1
    n_workers = (
        workers if workers is not None else env_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", cores, 1)
    )
    if n_workers is None or n_workers < 1:
        raise ServingError(f"--workers must be at least 1, got {n_workers}")
    timeout = next(
        (env_int(env, name, None, 1) for name in _TIMEOUT_VARIABLES if env.get(name, "").strip()),
        DEFAULT_TIMEOUT_S,
    )
    payload_mb = env_int(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", DEFAULT_MAX_PAYLOAD_MB, 1)
    batch = (
        max_batch_size
        if max_batch_size is not None
        else env_int(env, "SAGEMAKER_TS_BATCH_SIZE", 1, 1)
    )
    delay = max_batch_delay_ms
    if delay is None:
        delay = float(env_int(env, "SAGEMAKER_TS_MAX_BATCH_DELAY", 0) or 0)
    queue = (
        max_queue
        if max_queue is not None
        else env_int(env, "SAGEPIPE_MAX_QUEUE_SIZE", DEFAULT_MAX_QUEUE)
    )
    return WorkerSettings(
        model_dir=model_dir,
        code_dir=code_dir,
        program=program,
        host=host,
        port=port,
        workers=n_workers,
        threads=max(1, cores // n_workers),
        max_payload_bytes=(payload_mb or DEFAULT_MAX_PAYLOAD_MB) * 1024 * 1024,
        max_concurrent=env_int(env, "SAGEMAKER_MAX_CONCURRENT_INVOCATIONS", None, 1),
        max_queue=queue if queue is not None else DEFAULT_MAX_QUEUE,
        timeout_s=float(timeout or DEFAULT_TIMEOUT_S),
        max_batch_size=batch if batch is not None else 1,
        max_batch_delay_ms=delay,
        default_accept=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "application/json",
        max_header_bytes=_env_or(env, "SAGEPIPE_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES, 1024),
        request_read_timeout_s=float(
            _env_or(env, "SAGEPIPE_REQUEST_READ_TIMEOUT", DEFAULT_REQUEST_READ_TIMEOUT_S, 1)
        ),
        keep_alive_timeout_s=float(
            _env_or(env, "SAGEPIPE_KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_TIMEOUT_S, 1)
        ),
        max_connections=_env_or(env, "SAGEPIPE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1),
    )


def _env_or(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = env_int(env, name, default, minimum)
    return default if value is None else value
