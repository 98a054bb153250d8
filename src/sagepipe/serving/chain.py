"""The handler chain: ``input_fn`` -> ``predict_fn`` -> ``output_fn`` for one request or a
dynamic batch, turning every outcome into a :class:`Response` (never raising).

A batch decodes each request, stacks the tensors that share dtype, device and trailing shape
on dim 0, predicts once, splits the prediction back by each request's rows and encodes each
part. Requests that cannot be stacked, or whose batch fails, are predicted one by one, so a
batch answers exactly what the requests would have answered alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sagepipe.serving import codecs, defaults
from sagepipe.serving.context import Context, RequestState
from sagepipe.serving.errors import HandlerSignatureError, InferenceError
from sagepipe.serving.loading import bind_handler, load_user_module, predict_is_batchable
from sagepipe.serving.messages import Invocation, Response

log = logging.getLogger("sagepipe.serving")


def _call(
    handler: Callable[..., Any], takes_context: bool
) -> Callable[[tuple[Any, ...], Context | None], Any]:
    if takes_context:
        return lambda args, ctx: handler(*args, ctx)
    return lambda args, ctx: handler(*args)


class HandlerChain:
    """The user's handlers (or the defaults) bound to a loaded model.

    Build one with :meth:`load`; call :meth:`invoke` per request or :meth:`invoke_batch`.
    """

    def __init__(
        self,
        module: Any,
        system_properties: dict[str, Any],
        default_accept: str,
    ) -> None:
        bound = {
            name: bind_handler(module, name)
            for name in ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
        }
        transform = bound["transform_fn"]
        if transform is not None and any(bound[n] for n in ("input_fn", "predict_fn", "output_fn")):
            raise HandlerSignatureError(
                "transform_fn cannot be combined with input_fn, predict_fn or output_fn; "
                "define either transform_fn or the others"
            )
        self.system_properties = system_properties
        self.default_accept = default_accept
        self.batchable = transform is None and predict_is_batchable(bound["predict_fn"])
        self.needs_context = any(b.takes_context for b in bound.values() if b is not None)
        self._model_fn = _pick(bound["model_fn"], defaults.default_model_fn)
        self._input_fn = _pick(bound["input_fn"], defaults.default_input_fn)
        self._predict_fn = _pick(bound["predict_fn"], defaults.default_predict_fn)
        self._output_fn = _pick(bound["output_fn"], defaults.default_output_fn)
        self._transform_fn = _call(transform.func, transform.takes_context) if transform else None
        self.model: Any = None

    @classmethod
    def load(
        cls,
        model_dir: Path,
        code_dir: Path | None,
        program: str,
        system_properties: dict[str, Any],
        default_accept: str = codecs.JSON,
    ) -> HandlerChain:
        """Import the script, bind its handlers and run ``model_fn`` once."""
        module = load_user_module(code_dir, program)
        chain = cls(module, system_properties, default_accept)
        context = Context(system_properties, [])
        chain.model = chain._model_fn((str(model_dir),), context)
        return chain

    # ------------------------------------------------------------------ one request

    def invoke(self, request: Invocation) -> Response:
        """Run the whole chain for one request; every failure becomes an error response."""
        state = RequestState(request.headers)
        context = Context(self.system_properties, [state]) if self.needs_context else None
        stage = "input_fn"
        try:
            accept = self._accept(request.accept)
            data = self._decode_body(request)
            if self._transform_fn is not None:
                stage = "transform_fn"
                out = self._transform_fn((self.model, data, request.content_type, accept), context)
            else:
                value = self._input_fn((data, request.content_type), context)
                stage = "predict_fn"
                prediction = self._predict_fn((value, self.model), context)
                stage = "output_fn"
                out = self._output_fn((prediction, accept), context)
            return _respond(out, accept, state)
        except Exception as exc:  # noqa: BLE001 - a handler's failure is the client's answer
            return _failure(stage, exc)

    def _accept(self, accept: str) -> str:
        return self.default_accept if not accept or accept == codecs.ANY else accept

    @staticmethod
    def _decode_body(request: Invocation) -> Any:
        if codecs.media_type(request.content_type) in codecs.UTF8_TYPES:
            try:
                return request.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InferenceError(400, f"the body is not valid UTF-8: {exc}") from None
        return request.body

    # ------------------------------------------------------------------ a batch

    def invoke_batch(self, requests: list[Invocation]) -> list[Response]:
        """Run a batch: decode each, predict stacked groups once, encode each."""
        if not self.batchable or len(requests) < 2:
            return [self.invoke(r) for r in requests]
        states = [RequestState(r.headers) for r in requests]
        responses: list[Response | None] = [None] * len(requests)
        values: dict[int, Any] = {}
        accepts: dict[int, str] = {}
        for i, request in enumerate(requests):
            context = Context(self.system_properties, [states[i]]) if self.needs_context else None
            try:
                accepts[i] = self._accept(request.accept)
                values[i] = self._input_fn(
                    (self._decode_body(request), request.content_type), context
                )
            except Exception as exc:  # noqa: BLE001 - answered as that request's error
                responses[i] = _failure("input_fn", exc)
        for group in _stackable_groups(values):
            predictions = self._predict_group(group, [values[i] for i in group], states)
            for i, prediction in zip(group, predictions, strict=True):
                responses[i] = self._finish(prediction, accepts[i], states[i])
        for i, value in values.items():
            if responses[i] is None:
                responses[i] = self._finish_single(value, accepts[i], states[i])
        return [r if r is not None else Response.error(500, "no response") for r in responses]

    def _predict_group(
        self, group: list[int], tensors: list[torch.Tensor], states: list[RequestState]
    ) -> list[Any]:
        sizes = [t.shape[0] for t in tensors]
        context = (
            Context(self.system_properties, [states[i] for i in group])
            if self.needs_context
            else None
        )
        try:
            prediction = self._predict_fn((torch.cat(tensors), self.model), context)
        except Exception:  # noqa: BLE001 - retried one by one so each request gets its own answer
            return [_Unbatched(t) for t in tensors]
        if (
            not isinstance(prediction, torch.Tensor)
            or prediction.dim() == 0
            or (prediction.shape[0] != sum(sizes))
        ):
            return [_Unbatched(t) for t in tensors]
        return list(torch.split(prediction, sizes))

    def _finish(self, prediction: Any, accept: str, state: RequestState) -> Response:
        if isinstance(prediction, _Unbatched):
            return self._finish_single(prediction.value, accept, state)
        context = Context(self.system_properties, [state]) if self.needs_context else None
        try:
            return _respond(self._output_fn((prediction, accept), context), accept, state)
        except Exception as exc:  # noqa: BLE001
            return _failure("output_fn", exc)

    def _finish_single(self, value: Any, accept: str, state: RequestState) -> Response:
        context = Context(self.system_properties, [state]) if self.needs_context else None
        stage = "predict_fn"
        try:
            prediction = self._predict_fn((value, self.model), context)
            stage = "output_fn"
            return _respond(self._output_fn((prediction, accept), context), accept, state)
        except Exception as exc:  # noqa: BLE001
            return _failure(stage, exc)


class _Unbatched:
    """Marks a request of a group that must be predicted alone."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _pick(
    bound: Any, default: Callable[..., Any]
) -> Callable[[tuple[Any, ...], Context | None], Any]:
    if bound is None:
        return _call(default, False)
    return _call(bound.func, bound.takes_context)


def _stackable_groups(values: dict[int, Any]) -> list[list[int]]:
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, value in values.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 2:
            key = (value.dtype, value.device, tuple(value.shape[1:]))
            groups.setdefault(key, []).append(i)
    return [g for g in groups.values() if len(g) >= 2]


def _respond(out: Any, accept: str, state: RequestState) -> Response:
    if isinstance(out, tuple) and len(out) == 2:
        body, content_type = out
    else:
        body, content_type = out, accept.split(",", 1)[0].strip()
    headers = state.response_headers
    if "content-type" in headers:
        headers = dict(headers)
        content_type = headers.pop("content-type")
    return Response(state.status or 200, _as_bytes(body), str(content_type), headers)


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    try:
        # TorchServe answers other values as their JSON (standard JSON: NaN becomes null).
        return codecs.dumps_json(body)
    except (TypeError, ValueError):
        raise InferenceError(
            500,
            f"output_fn returned a {type(body).__name__}; return bytes, str or "
            "(body, content_type)",
        ) from None


def _failure(stage: str, exc: Exception) -> Response:
    if isinstance(exc, InferenceError):
        if exc.status >= 500:
            log.error("%s failed: %s", stage, exc.message)
        return Response.error(exc.status, exc.message)
    log.error("%s raised %s", stage, type(exc).__name__, exc_info=exc)
    return Response.error(500, f"{stage} raised {type(exc).__name__}: {exc}")
