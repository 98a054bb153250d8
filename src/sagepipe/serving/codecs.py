"""Content-type codecs of the default handlers (NumPy level), faithful to SageMaker's toolkit.

Decoders: ``application/json`` (one JSON value), ``text/csv`` (rows of numbers; like
``np.genfromtxt`` the result is squeezed, so one row gives a 1-D array) and
``application/x-npy`` (``allow_pickle=False``: object arrays are refused). Encoders: JSON,
CSV (``np.savetxt(..., delimiter=",", fmt="%s")``) and NPY (``np.save``).

JSON is standard JSON both ways (RFC 8259 has no NaN or Infinity): a body holding ``NaN``,
``Infinity`` or ``-Infinity`` is a 400 naming it, and so is one nested deeper than
:data:`MAX_JSON_DEPTH`; encoded output writes ``null`` for a non-finite number, as
JavaScript's ``JSON.stringify`` does. CSV and NPY carry NaN and infinities as they are.

NPY headers are parsed and built with ``numpy.lib.format`` and cached by their bytes, so the
hot path is a ``frombuffer`` and a ``tobytes``. Import this module only where NumPy is wanted.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from sagepipe.serving.errors import InferenceError

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
UTF8_TYPES = (JSON, CSV)
SUPPORTED_TYPES = (JSON, CSV, NPY)

#: Deepest JSON nesting the decoders accept (a tensor has far fewer dimensions).
MAX_JSON_DEPTH = 32

_NPY_MAGIC = b"\x93NUMPY"
_HEADER_CACHE_LIMIT = 256
_read_cache: dict[bytes, tuple[np.dtype[Any], tuple[int, ...], bool, int]] = {}
_write_cache: dict[tuple[str, tuple[int, ...]], bytes] = {}


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type or Accept value: parameters dropped, lower case."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def parse_accept(accept: str) -> list[str]:
    """The media types listed in an Accept header, in order (as the toolkit's parse_accept)."""
    return [media_type(part) for part in accept.split(",") if part.strip()]


# --------------------------------------------------------------------------- decoders


def _refuse_constant(name: str) -> Any:
    raise InferenceError(
        400,
        f"the JSON body holds {name}, which is not a JSON number (RFC 8259); send finite "
        "numbers, or send NaN and infinities as text/csv or application/x-npy",
    )


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _too_deep() -> InferenceError:
    return InferenceError(
        400,
        f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep; send an array of "
        f"at most {MAX_JSON_DEPTH} dimensions",
    )


def loads_json(text: str) -> Any:
    """Parse one standard JSON value: no NaN or Infinity, at most ``MAX_JSON_DEPTH`` deep.

    Raises:
        InferenceError: 400 naming what is wrong.
    """
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InferenceError(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep() from None
    depth, inner = 0, value
    # An array's depth is that of its first elements: a ragged one fails to convert anyway.
    while isinstance(inner, (list, dict)) and inner:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        inner = inner[0] if isinstance(inner, list) else next(iter(inner.values()))
    return value


def json_to_numpy(text: str) -> np.ndarray[Any, Any]:
    """Decode one JSON value to an array; 400 when it is not JSON or not rectangular."""
    value = loads_json(text)
    try:
        return np.array(value)
    except ValueError as exc:
        raise InferenceError(400, f"the JSON body is not a rectangular array: {exc}") from None


def csv_rows(text: str) -> list[list[float]]:
    """Parse CSV numbers into rows; blank lines and ``#`` comments are skipped.

    An empty field is NaN (as ``np.genfromtxt``); a non-numeric field or a row with a
    different number of columns is a 400 naming the line.
    """
    rows: list[list[float]] = []
    width = -1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if "#" in raw else raw
        if not line.strip():
            continue
        try:
            row = [float(field) if field.strip() else float("nan") for field in line.split(",")]
        except ValueError:
            raise InferenceError(
                400, f"CSV line {number} has a field that is not a number: {raw[:200]!r}"
            ) from None
        if width not in (-1, len(row)):
            raise InferenceError(
                400, f"CSV line {number} has {len(row)} columns, earlier lines have {width}"
            )
        width = len(row)
        rows.append(row)
    if not rows:
        raise InferenceError(400, "the CSV body has no rows")
    return rows


def csv_to_numpy(text: str) -> np.ndarray[Any, Any]:
    """Decode CSV to a float64 array squeezed like ``np.genfromtxt`` (one row -> 1-D)."""
    return np.squeeze(np.array(csv_rows(text), dtype=np.float64))


def _npy_header(body: bytes) -> tuple[np.dtype[Any], tuple[int, ...], bool, int]:
    if len(body) < 10 or body[:6] != _NPY_MAGIC:
        raise InferenceError(400, "the body is not an NPY array (bad magic string)")
    major = body[6]
    if major == 1:
        end = 10 + int.from_bytes(body[8:10], "little")
    elif major in (2, 3):
        end = 12 + int.from_bytes(body[8:12], "little")
    else:
        raise InferenceError(400, f"unsupported NPY format version {major}")
    key = body[:end]
    cached = _read_cache.get(key)
    if cached is not None:
        return cached
    stream = io.BytesIO(key)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise InferenceError(400, f"unsupported NPY format version {version}")
    except ValueError as exc:
        raise InferenceError(400, f"the NPY header is invalid: {exc}") from None
    if dtype.hasobject:
        raise InferenceError(
            400, "the NPY array holds Python objects, which would need unpickling (refused)"
        )
    parsed = (dtype, tuple(shape), bool(fortran), end)
    if len(_read_cache) < _HEADER_CACHE_LIMIT:
        _read_cache[key] = parsed
    return parsed


def npy_to_numpy(body: bytes) -> np.ndarray[Any, Any]:
    """Decode an NPY body (``allow_pickle=False``); the array is a writable copy."""
    dtype, shape, fortran, offset = _npy_header(body)
    count = 1
    for dim in shape:
        count *= dim
    if len(body) - offset < count * dtype.itemsize:
        raise InferenceError(
            400, f"the NPY body is truncated: shape {shape} needs {count * dtype.itemsize} bytes"
        )
    flat = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
    # frombuffer over bytes is read-only; torch.from_numpy warns on those, so copy.
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


# --------------------------------------------------------------------------- encoders


def numpy_to_npy(array: np.ndarray[Any, Any]) -> bytes:
    """``np.save`` of an array, byte for byte, with the header cached by dtype and shape."""
    if array.dtype.hasobject:
        raise ValueError("cannot encode an object array as NPY without pickling")
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    fortran = not array.flags.c_contiguous
    key = (array.dtype.str + ("F" if fortran else "C"), array.shape)
    header = _write_cache.get(key)
    if header is None:
        # np.save's own header (version choice, padding) is the reference: save once and
        # keep everything before the data.
        stream = io.BytesIO()
        np.save(stream, array, allow_pickle=False)
        saved = stream.getvalue()
        header = saved[: len(saved) - array.nbytes]
        if len(_write_cache) < _HEADER_CACHE_LIMIT:
            _write_cache[key] = header
        return saved
    return header + array.tobytes(order="F" if fortran else "C")


def _to_list(value: Any) -> Any:
    to_list = getattr(value, "tolist", None)
    if to_list is not None:
        return to_list()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _nulls(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_nulls(item) for item in value]
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    to_list = getattr(value, "tolist", None)
    return _nulls(to_list()) if to_list is not None else value


def dumps_json(obj: Any) -> bytes:
    """Standard JSON of ``obj`` (``tolist`` for arrays); a NaN or infinity becomes ``null``."""
    try:
        return json.dumps(obj, default=_to_list, allow_nan=False).encode("utf-8")
    except ValueError:
        # Rare: only a prediction holding NaN or an infinity pays for the second pass.
        return json.dumps(_nulls(obj), default=_to_list, allow_nan=False).encode("utf-8")


def encode_json(obj: Any) -> bytes:
    """JSON of an array-like (``tolist`` for arrays), as the toolkit's encoder, but standard:
    non-finite numbers are ``null``."""
    return dumps_json(obj)


def encode_csv(obj: Any) -> bytes:
    """CSV of an array-like with ``np.savetxt(..., delimiter=',', fmt='%s')``."""
    stream = io.StringIO()
    np.savetxt(stream, obj, delimiter=",", fmt="%s")
    return stream.getvalue().encode("utf-8")


def encode_npy(obj: Any) -> bytes:
    """NPY of an array-like, as ``np.save`` writes it (lists become ``np.array(obj)``)."""
    array = obj if isinstance(obj, np.ndarray) else np.asarray(obj)
    return numpy_to_npy(array)


ENCODERS = {JSON: encode_json, CSV: encode_csv, NPY: encode_npy}
