"""User-supplied sample payload files: their content types and the checks they must pass.

A sample file is one request body for the registration smoke test, sent as it is. Its content
type comes from its extension (:data:`SAMPLE_TYPES`) unless one is given. Each file is checked
here, before any pipeline runs, in code we control rather than left to the model server:
a JSON file must parse, a CSV file must hold a non-blank line of UTF-8 text, an NPY file must
have a sane header (read by numpy's header reader, never unpickling: object arrays are
refused) and exactly the data its header announces; no file may exceed the model server's
default largest request (:data:`MAX_SAMPLE_BYTES`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sagepipe.artifacts.errors import PayloadError

#: Content type of each sample file extension.
SAMPLE_TYPES: dict[str, str] = {
    ".json": "application/json",
    ".csv": "text/csv",
    ".npy": "application/x-npy",
}
#: Content types a sample file may be sent as.
SAMPLE_CONTENT_TYPES: tuple[str, ...] = tuple(SAMPLE_TYPES.values())
#: The model server's default ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` (6 MiB): a larger sample would
#: be answered 413 by an endpoint with default settings.
MAX_SAMPLE_BYTES = 6 * 1024 * 1024
_NPY_MAX_HEADER = 10000


def sample_content_type(path: str, explicit: str | None) -> str:
    """The content type to send ``path`` as: ``explicit``, else by its extension.

    Raises:
        PayloadError: ``explicit`` is not a sample content type, or none is given and the
            extension is not one of :data:`SAMPLE_TYPES`.
    """
    if explicit is not None:
        if explicit not in SAMPLE_CONTENT_TYPES:
            raise PayloadError(
                f"sample {path}: content_type {explicit!r} is not supported; use one of "
                + ", ".join(SAMPLE_CONTENT_TYPES)
            )
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix not in SAMPLE_TYPES:
        raise PayloadError(
            f"sample {path}: the extension {suffix or '(none)'!r} does not say its content "
            f"type; name it {', '.join(SAMPLE_TYPES)} or give content_type"
        )
    return SAMPLE_TYPES[suffix]


def local_sample_files(path: Path) -> list[Path]:
    """The files of a local sample entry: the file itself, or a directory's files.

    A directory contributes its regular files (not its subdirectories' files), sorted by
    name; hidden files (``.*``) are skipped.

    Raises:
        PayloadError: the path does not exist, or a directory holds no files or a
            subdirectory (whose files would otherwise be silently left out).
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PayloadError(f"sample {path} does not exist (give a file or a directory of files)")
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    nested = [p.name for p in entries if not p.is_file()]
    if nested:
        raise PayloadError(
            f"sample directory {path} holds subdirectories {nested}; list their files, or "
            "their directories, as samples of their own"
        )
    if not entries:
        raise PayloadError(f"sample directory {path} holds no files")
    return entries


def check_sample(name: str, body: bytes, content_type: str) -> None:
    """Check one sample body against its content type.

    Args:
        name: The file, for messages.
        body: Its bytes.
        content_type: One of :data:`SAMPLE_CONTENT_TYPES`.

    Raises:
        PayloadError: the body is empty or too large, or not what its content type says.
    """
    if len(body) > MAX_SAMPLE_BYTES:
        raise PayloadError(
            f"sample {name} is {len(body)} bytes, over the model server's default largest "
            f"request of {MAX_SAMPLE_BYTES} bytes (SAGEMAKER_MAX_PAYLOAD_IN_MB=6); send a "
            "smaller sample"
        )
    if not body:
        raise PayloadError(f"sample {name} is empty; a sample is one request body")
    if content_type == "application/json":
        _check_json(name, body)
    elif content_type == "text/csv":
        _check_csv(name, body)
    elif content_type == "application/x-npy":
        _check_npy(name, body)
    else:
        raise PayloadError(
            f"sample {name}: content type {content_type!r} is not one of "
            + ", ".join(SAMPLE_CONTENT_TYPES)
        )


def _check_json(name: str, body: bytes) -> None:
    try:
        json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"sample {name} is not UTF-8 text ({exc}); JSON must be") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"sample {name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _check_csv(name: str, body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"sample {name} is not UTF-8 text ({exc}); CSV must be") from None
    if not text.strip():
        raise PayloadError(f"sample {name} holds no CSV record (only blank lines)")


def _check_npy(name: str, body: bytes) -> None:
    import io
    from tokenize import TokenError

    # numpy is imported only here: configs without NPY samples never need it.
    import numpy as np
    from numpy.lib import format as npy

    stream = io.BytesIO(body)
    try:
        version = npy.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy.read_array_header_1_0(
                stream, max_header_size=_NPY_MAX_HEADER
            )
        elif version in ((2, 0), (3, 0)):
            shape, fortran_order, dtype = npy.read_array_header_2_0(
                stream, max_header_size=_NPY_MAX_HEADER
            )
        else:
            raise ValueError(f"unsupported NPY format version {version}")
    except (ValueError, SyntaxError, TypeError, EOFError, TokenError) as exc:
        # numpy's header reader tokenizes the header: a garbled one raises TokenError.
        raise PayloadError(
            f"sample {name} is not an NPY file with a valid header: {exc}; save it with "
            "numpy.save(path, array)"
        ) from None
    del fortran_order
    if dtype.hasobject:
        raise PayloadError(
            f"sample {name} holds an object array (dtype {dtype}), which only loads by "
            "unpickling; the server never unpickles request bodies: save a numeric array"
        )
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    found = len(body) - stream.tell()
    if found != expected:
        raise PayloadError(
            f"sample {name}: its NPY header announces shape {tuple(shape)} of {dtype} "
            f"({expected} bytes of data) but the file holds {found}; it is truncated or "
            "corrupt"
        )
