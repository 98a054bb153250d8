"""The local SageMaker runtime: ``POST /endpoints/{name}/invocations`` for every local endpoint.

One address on 127.0.0.1 answers sagemaker-runtime ``InvokeEndpoint`` as SageMaker does, so
``boto3.client("sagemaker-runtime", endpoint_url=URL).invoke_endpoint(EndpointName=...)``
(or ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=URL``) works unchanged: the name is looked up in the
endpoints store and the request forwarded to that endpoint's model server. Answers follow
botocore's service model: the model's body and ``Content-Type``,
``x-Amzn-Invoked-Production-Variant: AllTraffic``, custom attributes both ways; an unknown
endpoint is a 400 ``ValidationError``, a model's error status a 424 ``ModelError`` with
``OriginalStatusCode`` and ``OriginalMessage``, each with ``x-amzn-ErrorType`` so botocore
raises a ``ClientError``. Request signatures are not checked (any credentials do).

Run as ``python -m sagepipe.endpoints.runtime --home HOME --port PORT`` (see
:mod:`sagepipe.endpoints.runtime_process`); it exits once no endpoint is left.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import traceback
import urllib.parse
import uuid
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sagepipe.endpoints.store import (
    CREATING,
    FAILED,
    IN_SERVICE,
    EndpointRecord,
    EndpointStore,
)
from sagepipe.execution_role import LOCAL_ACCOUNT_ID

#: The one production variant a local endpoint has (the SDK's name for deploy's variant).
VARIANT = "AllTraffic"
#: SageMaker's InvokeEndpoint payload limit.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Headers InvokeEndpoint passes to the model container (SageMaker strips the others).
_FORWARDED = (
    "Content-Type",
    "Accept",
    "X-Amzn-SageMaker-Custom-Attributes",
    "X-Amzn-SageMaker-Inference-Id",
)
#: Request headers of features a single-model local endpoint does not have.
_UNSUPPORTED = {
    "X-Amzn-SageMaker-Target-Model": "TargetModel (multi-model endpoints)",
    "X-Amzn-SageMaker-Target-Container-Hostname": "TargetContainerHostname (multi-container)",
    "X-Amzn-SageMaker-Inference-Component": "InferenceComponentName (inference components)",
    "X-Amzn-SageMaker-Session-Id": "SessionId (stateful sessions)",
    "X-Amzn-SageMaker-Enable-Explanations": "EnableExplanations (Clarify explainers)",
}
#: SageMaker gives a real-time endpoint's container 60 s to answer (botocore's read timeout is
#: 60 s too: a slower answer would be sent again by the client's retries).
MODEL_TIMEOUT_S = 60.0
_IDLE_CHECK_S = 30.0


class InvokeError(Exception):
    """An answer in SageMaker runtime's error shape (status, error type, message)."""

    def __init__(self, status: int, error_type: str, message: str, **fields: object) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.fields = fields


def not_found(name: str) -> InvokeError:
    """SageMaker's answer for an endpoint that does not exist."""
    return InvokeError(
        400, "ValidationError", f"Endpoint {name} of account {LOCAL_ACCOUNT_ID} not found."
    )


def model_error(name: str, status: int, body: bytes, log_path: str) -> InvokeError:
    """SageMaker's 424 ``ModelError`` for a model container's error answer."""
    kind = "client" if status < 500 else "server"
    text = body.decode("utf-8", "replace")
    return InvokeError(
        424,
        "ModelError",
        f'Received {kind} error ({status}) from primary with message "{text}". '
        f"See {log_path} for more information.",
        ErrorCode=f"{kind.upper()}_ERROR_FROM_MODEL",
        OriginalStatusCode=status,
        OriginalMessage=text,
        LogStreamArn=f"file://{log_path}",
    )


def endpoint_name(path: str) -> str | None:
    """The endpoint name of ``/endpoints/{name}/invocations`` (None for another path)."""
    parts = urllib.parse.urlsplit(path).path.split("/")
    if len(parts) != 4 or parts[0] or parts[1] != "endpoints" or parts[3] != "invocations":
        return None
    return urllib.parse.unquote(parts[2]) or None


class RuntimeHandler(BaseHTTPRequestHandler):
    """One request to the runtime: check it, find the endpoint, forward, translate."""

    protocol_version = "HTTP/1.1"
    server: RuntimeServer

    def do_GET(self) -> None:
        if self.path == "/ping":
            body = {"status": "Healthy", "home": str(self.server.home)}
            self._send(200, json.dumps(body).encode(), "application/json", {})
            return
        self._error(_unknown_route(self.command, self.path))

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        name = endpoint_name(self.path)
        if name is None:
            self._error(_unknown_route(self.command, self.path))
            return
        try:
            self._invoke(name, body)
        except InvokeError as error:
            self._error(error)
        except Exception as exc:  # noqa: BLE001 - answered, never a dropped connection
            # A dropped connection would make botocore retry the invocation; the caller gets
            # SageMaker's InternalFailure and the traceback goes to the runtime's log.
            traceback.print_exc()
            self._error(
                InvokeError(
                    500, "InternalFailure", f"local runtime error: {type(exc).__name__}: {exc}"
                )
            )

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self.close_connection = True
            self._error(InvokeError(411, "ValidationError", "Content-Length is required"))
            return None
        length = int(length_text)
        if length > MAX_PAYLOAD_BYTES:
            # Discarded as it arrives (memory stays flat), so the client reads the answer.
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            self._error(
                InvokeError(
                    413,
                    "ValidationError",
                    f"Request body of {length} bytes exceeds the InvokeEndpoint limit of "
                    f"{MAX_PAYLOAD_BYTES} bytes (6 MB); send smaller requests",
                )
            )
            return None
        return self.rfile.read(length)

    def _invoke(self, name: str, body: bytes) -> None:
        for header, feature in _UNSUPPORTED.items():
            if self.headers.get(header) is not None:
                raise InvokeError(
                    400,
                    "ValidationError",
                    f"{feature} is not supported by local endpoint {name}: it serves one "
                    f"model in one container; remove the {header} header",
                )
        variant = self.headers.get("X-Amzn-SageMaker-Target-Variant")
        if variant is not None and variant != VARIANT:
            raise InvokeError(
                400,
                "ValidationError",
                f"Target variant {variant} not found for endpoint {name}; its only variant "
                f"is {VARIANT}",
            )
        record, url = self.server.lookup(name)
        status, answer, headers = _forward(record, url, body, self.headers)
        if status >= 400:
            raise model_error(name, status, answer, record.log_path)
        extra = {"x-Amzn-Invoked-Production-Variant": VARIANT}
        attributes = headers.get("x-amzn-sagemaker-custom-attributes")
        if attributes is not None:
            extra["X-Amzn-SageMaker-Custom-Attributes"] = attributes
        content_type = headers.get("content-type", "application/octet-stream")
        self._send(200, answer, content_type, extra)

    def _error(self, error: InvokeError) -> None:
        payload = {"message": error.message, **error.fields}
        self._send(
            error.status,
            json.dumps(payload).encode(),
            "application/json",
            {"x-amzn-ErrorType": f"{error.error_type}:http://internal.amazon.com/coral/"},
        )

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in headers.items():
            self.send_header(key, value.replace("\r", " ").replace("\n", " "))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Method, path and status only: never the headers (they carry credentials).
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _unknown_route(method: str, path: str) -> InvokeError:
    return InvokeError(
        404,
        "UnknownOperationException",
        f"{method} {path} is not an operation of the local SageMaker runtime; use POST "
        "/endpoints/{EndpointName}/invocations",
    )


def _forward(
    record: EndpointRecord, url_text: str, body: bytes, incoming: Message
) -> tuple[int, bytes, dict[str, str]]:
    """POST ``body`` to the endpoint's ``/invocations``; its status, body and headers."""
    url = urllib.parse.urlsplit(url_text)
    headers = {key: value for key in _FORWARDED if (value := incoming.get(key)) is not None}
    connection = http.client.HTTPConnection(
        url.hostname or "127.0.0.1", url.port, timeout=MODEL_TIMEOUT_S
    )
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    except TimeoutError:
        raise InvokeError(
            424,
            "ModelError",
            f"Your invocation timed out while waiting for a response from container primary "
            f"(local endpoint {record.name}, {MODEL_TIMEOUT_S:.0f} s); see its log "
            f"{record.log_path}",
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise InvokeError(
            503,
            "ServiceUnavailable",
            f"local endpoint {record.name} did not answer ({exc}); see its log {record.log_path}",
        ) from None
    finally:
        connection.close()
    return response.status, answer, {k.lower(): v for k, v in response.getheaders()}


class RuntimeServer(ThreadingHTTPServer):
    """The runtime's HTTP server, bound to one sagepipe home's endpoints."""

    daemon_threads = True

    def __init__(self, home: Path, host: str, port: int) -> None:
        super().__init__((host, port), RuntimeHandler)
        self.home = home

    def lookup(self, name: str) -> tuple[EndpointRecord, str]:
        """The ``InService`` endpoint ``name`` and its server's URL.

        Raises:
            InvokeError: a ``ValidationError`` when there is none (or it is not serving).
        """
        from sagepipe.endpoints.lifecycle import refresh

        with EndpointStore(self.home) as store:
            record = store.find(name)
            if record is None:
                raise not_found(name)
            record = refresh(store, record)
        if record.status == IN_SERVICE and record.url is not None:
            return record, record.url
        if record.status in (IN_SERVICE, CREATING, FAILED):
            reason = f": {record.failure_reason}" if record.failure_reason else ""
            raise InvokeError(
                400,
                "ValidationError",
                f"Endpoint {name} of account {LOCAL_ACCOUNT_ID} is {record.status}, not "
                f"InService{reason}",
            )
        raise not_found(name)  # Deleted

    def has_live_endpoints(self) -> bool:
        """Whether any endpoint of the home is serving or starting."""
        from sagepipe.endpoints.lifecycle import refresh

        if not self.home.is_dir():
            return False
        with EndpointStore(self.home) as store:
            # Refreshed: an endpoint whose server is gone no longer keeps the runtime up.
            return any(refresh(store, r).status in (IN_SERVICE, CREATING) for r in store.all())


def _stop_when_idle(server: RuntimeServer, interval_s: float) -> None:
    # Two idle checks in a row: an endpoint being created between them keeps it running.
    idle_before = False
    while True:
        threading.Event().wait(interval_s)
        idle = not server.has_live_endpoints()
        if idle and idle_before:
            server.shutdown()
            return
        idle_before = idle


def main(argv: list[str] | None = None) -> int:
    """Serve the runtime of ``--home`` on ``--host``:``--port`` until SIGTERM or idle."""
    import signal

    parser = argparse.ArgumentParser(prog="python -m sagepipe.endpoints.runtime")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        server = RuntimeServer(args.home, args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", flush=True)
        return 1
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    threading.Thread(target=_stop_when_idle, args=(server, _IDLE_CHECK_S), daemon=True).start()
    print(f"local SageMaker runtime listening on http://{host!s}:{port}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
