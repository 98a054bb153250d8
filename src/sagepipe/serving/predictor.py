"""``Predictor``: invoke a local server by URL or a SageMaker endpoint by name.

Like the SageMaker SDK's ``PyTorchPredictor`` it sends NPY and reads NPY by default. A URL
(``http://127.0.0.1:8080``) is invoked over HTTP; any other string is an endpoint name
invoked with boto3's ``sagemaker-runtime`` ``invoke_endpoint``.
"""

from __future__ import annotations

import http.client
import io
import json
import signal
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

from sagepipe.serving.deserializers import BaseDeserializer, NumpyDeserializer
from sagepipe.serving.errors import InvocationError
from sagepipe.serving.serializers import BaseSerializer, NumpySerializer

CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"


class Predictor:
    """Make predictions against a model server.

    Args:
        endpoint_name: A base URL of a local server (``http://host:port``) or the name of a
            SageMaker endpoint.
        serializer: Encodes ``data`` (default NPY, as the SDK's PyTorchPredictor).
        deserializer: Decodes responses (default NPY).
        boto_session: A ``boto3.Session`` for SageMaker endpoints (default: a new one).
        timeout_s: Seconds to wait for a local server's answer.
    """

    def __init__(
        self,
        endpoint_name: str,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        *,
        boto_session: Any = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.serializer = serializer or NumpySerializer()
        self.deserializer = deserializer or NumpyDeserializer()
        self.timeout_s = timeout_s
        self._boto_session = boto_session
        self._runtime: Any = None
        self._connection: http.client.HTTPConnection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        #: Where a deployed local server writes its log.
        self.log_path: Path | None = None
        #: The URL of a local endpoint (``sagepipe.endpoints``) named ``endpoint_name``.
        self._local_url = _local_endpoint_url(endpoint_name)

    @property
    def name(self) -> str:
        """The endpoint's name (the SDK's ``Predictor.name``; a URL for a bare server)."""
        return self.endpoint_name

    @property
    def is_local(self) -> bool:
        """Whether the endpoint is a URL rather than a SageMaker endpoint name."""
        return self._local_url is not None or self.endpoint_name.startswith(("http://", "https://"))

    @property
    def content_type(self) -> str:
        """The Content-Type of requests."""
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        """The media types the deserializer accepts."""
        return self.deserializer.ACCEPT

    def predict(
        self,
        data: Any,
        initial_args: dict[str, str] | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
    ) -> Any:
        """Serialize ``data``, invoke the endpoint, deserialize the answer.

        Raises:
            InvocationError: the endpoint answered with an error status.
        """
        args = self.invoke_endpoint_args(
            data, initial_args, custom_attributes, target_variant, inference_id
        )
        if self.is_local:
            status, body, content_type = self._post(args)
            if status >= 400:
                raise InvocationError(
                    f"{self.endpoint_name} answered HTTP {status}: {_error_message(body)}",
                    status,
                    body,
                )
            return self.deserializer.deserialize(io.BytesIO(body), content_type)
        response = self._invoke_endpoint(args)
        return self.deserializer.deserialize(
            response["Body"], response.get("ContentType", "application/octet-stream")
        )

    def invoke_endpoint_args(
        self,
        data: Any,
        initial_args: dict[str, str] | None = None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
    ) -> dict[str, Any]:
        """The parameters of sagemaker-runtime ``InvokeEndpoint`` for ``data``."""
        args: dict[str, Any] = dict(initial_args or {})
        args.setdefault("EndpointName", self.endpoint_name)
        args.setdefault("ContentType", self.content_type)
        args.setdefault("Accept", ", ".join(self.accept))
        if custom_attributes:
            args["CustomAttributes"] = custom_attributes
        if target_variant:
            args["TargetVariant"] = target_variant
        if inference_id:
            args["InferenceId"] = inference_id
        body = self.serializer.serialize(data)
        args["Body"] = body.encode("utf-8") if isinstance(body, str) else body
        return args

    # ------------------------------------------------------------------ transports

    def _post(self, args: dict[str, Any]) -> tuple[int, bytes, str]:
        url = urllib.parse.urlsplit(self._local_url or self.endpoint_name)
        path = url.path.rstrip("/") or ""
        if not path.endswith("/invocations"):
            path += "/invocations"
        headers = {"Content-Type": args["ContentType"], "Accept": args["Accept"]}
        if "CustomAttributes" in args:
            headers[CUSTOM_ATTRIBUTES_HEADER] = args["CustomAttributes"]
        for attempt in (1, 2):
            if self._connection is None:
                cls = (
                    http.client.HTTPSConnection
                    if url.scheme == "https"
                    else http.client.HTTPConnection
                )
                self._connection = cls(
                    url.hostname or "127.0.0.1", url.port, timeout=self.timeout_s
                )
            try:
                self._connection.request("POST", path, body=args["Body"], headers=headers)
                response = self._connection.getresponse()
                body = response.read()
            except (ConnectionError, http.client.HTTPException) as exc:
                # A kept-alive connection the server closed: retry once on a new one.
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise InvocationError(
                        f"cannot reach {self.endpoint_name}: {exc}", status=0
                    ) from None
                continue
            if response.getheader("Connection", "").lower() == "close":
                self._connection.close()
                self._connection = None
            return response.status, body, response.getheader("Content-Type", "")
        raise AssertionError("unreachable")

    def _invoke_endpoint(self, args: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if self._runtime is None:
            import boto3

            session = self._boto_session or boto3.Session()
            self._runtime = session.client("sagemaker-runtime")
        try:
            response: dict[str, Any] = self._runtime.invoke_endpoint(**args)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("OriginalStatusCode", 0) or 0)
            raise InvocationError(
                f"endpoint {self.endpoint_name}: {error.get('Code')}: {error.get('Message')}",
                status,
                str(exc.response.get("OriginalMessage", "")).encode(),
            ) from None
        return response

    # ------------------------------------------------------------------ lifecycle

    def attach_process(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        """Own a local server process (set by ``PyTorchModel.deploy``)."""
        self._process = process
        self.log_path = log_path

    def delete_endpoint(self, timeout_s: float = 30.0, delete_endpoint_config: bool = True) -> None:
        """Stop the endpoint: a deployed local server is drained and stopped; a SageMaker
        endpoint is deleted with ``DeleteEndpoint``, after its endpoint config (found with
        ``DescribeEndpoint``) unless ``delete_endpoint_config=False``, as the SDK does."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            stop_process(self._process, timeout_s)
            self._process = None
            return
        if self._local_url is not None:
            from sagepipe.endpoints import delete_endpoint

            delete_endpoint(self.endpoint_name, timeout_s=timeout_s)
            return
        if self.is_local:
            return
        import boto3

        session = self._boto_session or boto3.Session()
        client = session.client("sagemaker")
        if delete_endpoint_config:
            described = client.describe_endpoint(EndpointName=self.endpoint_name)
            client.delete_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        client.delete_endpoint(EndpointName=self.endpoint_name)

    def __repr__(self) -> str:
        return f"Predictor({self.endpoint_name!r}, content_type={self.content_type!r})"


def _local_endpoint_url(name: str) -> str | None:
    """The URL of the local endpoint ``name`` (None for URLs and unknown names)."""
    if name.startswith(("http://", "https://")):
        return None
    from sagepipe.endpoints import IN_SERVICE, EndpointStore
    from sagepipe.endpoints.store import DB_NAME
    from sagepipe.storage import sagepipe_home

    if not (sagepipe_home() / DB_NAME).exists() and not (sagepipe_home() / "runs.db").exists():
        return None
    with EndpointStore(sagepipe_home()) as store:
        record = store.find(name)
    if record is None:
        return None
    if record.status != IN_SERVICE or record.url is None:
        raise InvocationError(
            f"local endpoint {name!r} is {record.status}, not InService"
            + (f": {record.failure_reason}" if record.failure_reason else ""),
            status=0,
        )
    return record.url


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM a server process (it drains), SIGKILL it after ``timeout_s``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body[:500].decode("utf-8", "replace")
