"""Local endpoints: named, long-lived model servers whose state lives in the run store.

:func:`create_endpoint` starts a detached ``sagepipe serve`` process and records it;
:func:`describe_endpoint` and :func:`list_endpoints` check the server is still there (a
crashed one is ``Failed`` with its log tail); :func:`delete_endpoint` stops it. Every endpoint
is also invoked through one address, the local SageMaker runtime (:func:`ensure_runtime`,
:func:`runtime_url`): ``POST <runtime URL>/endpoints/<name>/invocations``, so boto3's
``sagemaker-runtime`` client works against it unchanged. This package
is a leaf: the SDK-style API, the local engine's endpoint step and the CLI use it.
"""

from sagepipe.endpoints.errors import EndpointError, EndpointNotFoundError
from sagepipe.endpoints.lifecycle import (
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    list_endpoints,
    log_tail,
)
from sagepipe.endpoints.runtime_process import (
    DEFAULT_RUNTIME_PORT,
    ensure_runtime,
    runtime_url,
    stop_runtime,
)
from sagepipe.endpoints.store import (
    CREATING,
    DELETED,
    FAILED,
    IN_SERVICE,
    EndpointRecord,
    EndpointStore,
)

__all__ = [
    "CREATING",
    "DEFAULT_RUNTIME_PORT",
    "DELETED",
    "FAILED",
    "IN_SERVICE",
    "EndpointError",
    "EndpointNotFoundError",
    "EndpointRecord",
    "EndpointStore",
    "create_endpoint",
    "delete_endpoint",
    "describe_endpoint",
    "ensure_runtime",
    "list_endpoints",
    "log_tail",
    "runtime_url",
    "stop_runtime",
]
