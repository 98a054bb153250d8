"""The default handlers, faithful to SageMaker's PyTorch inference toolkit.

``default_model_fn`` loads TorchScript ``model.pt`` (or the only ``.pt``/``.pth`` file) on
CUDA when available, else CPU. ``default_input_fn`` decodes JSON and CSV to float32 tensors and
NPY keeping its dtype. ``default_predict_fn`` runs the model in eval mode under
``torch.no_grad()`` on the model's device. ``default_output_fn`` encodes a tensor as its
``tolist()`` (so NPY output is float64, as the toolkit's) in the first supported type of
Accept. Every default is batch-safe: rows of a stacked batch never mix.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sagepipe.serving import codecs
from sagepipe.serving.errors import InferenceError, ModelLoadError, unsupported_media

DEFAULT_MODEL_FILENAME = "model.pt"
_MODEL_SUFFIXES = (".pt", ".pth")
_INPUT_FIX = "Send one of them, or define input_fn(request_body, content_type) in your script."
_OUTPUT_FIX = "Ask for one of them, or define output_fn(prediction, accept) in your script."


@functools.cache
def _device() -> torch.device:
    # Decided on first use in a worker, never at import: the supervisor imports this module
    # before forking, and touching CUDA there would break CUDA in the forked workers.
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_prepared: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()


def _is_model_file(path: Path) -> bool:
    # "._model.pt" is macOS AppleDouble junk that tar copies along; hidden files never count.
    return path.is_file() and path.suffix in _MODEL_SUFFIXES and not path.name.startswith(".")


def default_model_fn(model_dir: str) -> Any:
    """Load the TorchScript model in ``model_dir`` on the worker's device.

    Raises:
        ModelLoadError: no (single) model file, or it is not TorchScript.
    """
    directory = Path(model_dir)
    path = directory / DEFAULT_MODEL_FILENAME
    if not path.is_file():
        candidates = sorted(p.name for p in directory.iterdir() if _is_model_file(p))
        if len(candidates) != 1:
            found = f"found {candidates}" if candidates else "found no .pt or .pth file"
            raise ModelLoadError(
                f"no model_fn in the inference script and no {DEFAULT_MODEL_FILENAME} in "
                f"{directory} ({found}); save a TorchScript model there with "
                "torch.jit.save(torch.jit.script(model), 'model.pt'), or define "
                "model_fn(model_dir) in code/inference.py"
            )
        path = directory / candidates[0]
    try:
        with warnings.catch_warnings():
            # TorchScript is what SageMaker's default model_fn loads; its deprecation
            # notice is noise in every worker's log.
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location=_device())  # type: ignore[no-untyped-call]
    except (RuntimeError, ValueError) as exc:
        raise ModelLoadError(
            f"failed to load {path}: it is not a TorchScript archive ({_last_line(exc)}); save "
            "it with torch.jit.save, or define model_fn(model_dir) to load it yourself"
        ) from None
    return model.to(_device())


def default_input_fn(input_data: Any, content_type: str) -> torch.Tensor:
    """Decode a request body: JSON/CSV to float32, NPY keeping its dtype, on the device."""
    kind = codecs.media_type(content_type)
    try:
        if kind == codecs.JSON:
            tensor = _json_tensor(input_data)
        elif kind == codecs.CSV:
            text = input_data if isinstance(input_data, str) else bytes(input_data).decode()
            tensor = torch.tensor(codecs.csv_rows(text), dtype=torch.float32).squeeze()
        elif kind == codecs.NPY:
            tensor = torch.from_numpy(codecs.npy_to_numpy(bytes(input_data)))
        else:
            raise unsupported_media(
                "content type", content_type, codecs.SUPPORTED_TYPES, _INPUT_FIX
            )
    except TypeError as exc:
        raise InferenceError(400, f"the {kind} body cannot become a tensor: {exc}") from None
    return tensor.to(_device())


def _json_tensor(input_data: Any) -> torch.Tensor:
    value = codecs.loads_json(input_data)
    try:
        # Same values as the toolkit's torch.FloatTensor(np.array(value)), one conversion less.
        tensor = torch.tensor(value, dtype=torch.float32)
    except (ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise InferenceError(
            400, f"the JSON body is not a rectangular array of numbers: {exc}"
        ) from None
    if not bool(torch.isfinite(tensor).all()):
        # NaN and Infinity are refused while parsing: this is a number beyond float32.
        index = tuple(int(i) for i in torch.nonzero(~torch.isfinite(tensor))[0])
        raise InferenceError(
            400,
            f"the JSON body holds a number at index {list(index)} that is too large for "
            "float32 (it would become infinity); send numbers within +-3.4e38",
        )
    return tensor


def default_predict_fn(data: Any, model: Any) -> Any:
    """Call the model on ``data`` in eval mode, without gradients, on the model's device."""
    with torch.no_grad():
        if model not in _prepared:
            # The toolkit moves the model and calls eval() per request; once is the same.
            model = model.to(_device())
            model.eval()
            _prepared.add(model)
        input_data = data.to(_device())
        try:
            return model(input_data)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise InferenceError(
                400,
                f"the model cannot take an input of shape {tuple(input_data.shape)} and dtype "
                f"{str(input_data.dtype).removeprefix('torch.')}: {_last_line(exc)}",
            ) from None


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """Encode a prediction in the first type of ``accept`` that JSON, CSV or NPY covers."""
    for kind in codecs.parse_accept(accept):
        if kind in codecs.ENCODERS:
            if isinstance(prediction, torch.Tensor):
                return _encode_tensor(prediction, kind), kind
            return codecs.ENCODERS[kind](prediction), kind
    raise unsupported_media("accept", accept, codecs.SUPPORTED_TYPES, _OUTPUT_FIX)


def _encode_tensor(tensor: torch.Tensor, kind: str) -> bytes:
    # The toolkit encodes tensor.detach().cpu().numpy().tolist(); these paths give the same
    # bytes without building NumPy arrays from Python lists.
    tensor = tensor.detach().cpu()
    if kind == codecs.JSON:
        return codecs.dumps_json(tensor.tolist())
    if kind == codecs.CSV:
        if tensor.dim() == 2:
            rows = tensor.tolist()
            return "".join(",".join(map(str, row)) + "\n" for row in rows).encode("utf-8")
        if tensor.dim() == 1:
            return "".join(f"{value}\n" for value in tensor.tolist()).encode("utf-8")
        return codecs.encode_csv(tensor.tolist())
    array = tensor.numpy()
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    elif array.dtype.kind in "iu":
        array = array.astype(np.int64)
    elif array.dtype.kind != "b":
        return codecs.encode_npy(tensor.tolist())
    return codecs.numpy_to_npy(array)


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def worker_gpu_id(worker_index: int) -> int | None:
    """The GPU a worker uses (round robin, as TorchServe assigns them), or None on CPU."""
    if not torch.cuda.is_available():
        return None
    gpu = worker_index % torch.cuda.device_count()
    torch.cuda.set_device(gpu)
    return gpu


def configure_threads(threads: int) -> None:
    """Set the intra-op threads of the calling thread (OpenMP counts them per thread)."""
    torch.set_num_threads(max(1, threads))
