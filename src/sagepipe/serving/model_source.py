"""Where the model and the inference code come from.

MODEL is an extracted model directory, a ``model.tar.gz`` (extracted with the archive safety
checks) or an ``s3://`` URI of one (fetched through :mod:`sagepipe.storage`). The inference
code directory is, in order: ``--source-dir``; ``SAGEMAKER_SUBMIT_DIRECTORY`` (a directory, a
``sourcedir.tar.gz`` path or ``s3://`` URI; the container path ``/opt/ml/model/code`` means
MODEL's ``code/``); MODEL's ``code/``. The script is ``--entry-point``, else
``SAGEMAKER_PROGRAM``, else ``inference.py``. An ``--entry-point`` path (``dir/serve.py``)
without ``--source-dir`` is added to a copy of MODEL's ``code/``, as the SageMaker SDK's
repack adds the one script when a model has no ``source_dir``.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sagepipe.artifacts.gzipcheck import GZIP_MAGIC
from sagepipe.artifacts.layout import check_serving_layout, directory_entries
from sagepipe.artifacts.safety import safe_extract
from sagepipe.serving.errors import ModelSourceError
from sagepipe.serving.settings import DEFAULT_PROGRAM

_CONTAINER_CODE_DIRS = ("/opt/ml/model/code", "file:///opt/ml/model/code")


@dataclass(frozen=True)
class ModelSource:
    """A model ready to serve.

    Attributes:
        model_dir: Directory with the model files (``model_fn``'s ``model_dir``).
        code_dir: Directory with the inference script, or None (default handlers).
        program: The script's file name in ``code_dir``.
        requirements: ``requirements.txt`` of the code directory, if any.
    """

    model_dir: Path
    code_dir: Path | None
    program: str
    requirements: Path | None


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://")).expanduser()


def _fetch(uri: str, work_dir: Path, name: str) -> Path:
    """A local path for ``uri``; ``s3://`` objects are downloaded into ``work_dir``."""
    if not uri.startswith("s3://"):
        return _local(uri)
    from sagepipe.storage import get_storage

    target = work_dir / name
    get_storage().get_file(uri, target)
    return target


def _unpack(path: Path, work_dir: Path, name: str, what: str) -> Path:
    if path.is_dir():
        return path
    if not path.exists():
        raise ModelSourceError(f"{what} {path} does not exist")
    if not _looks_like_archive(path):
        raise ModelSourceError(
            f"{what} {path} is neither a directory nor a tar archive (model.tar.gz)"
        )
    target = work_dir / name
    safe_extract(path, target)
    return target


def _looks_like_archive(path: Path) -> bool:
    """A gzip file (its tar stream is checked while extracted) or a plain tar file."""
    with path.open("rb") as handle:
        if handle.read(2) == GZIP_MAGIC:
            return True
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError):
        return False


def _overlay_script(model_dir: Path, script: Path, work_dir: Path) -> Path:
    """A copy of MODEL's ``code/`` (if any) with ``script`` added, under ``work_dir``."""
    if not script.is_file():
        raise ModelSourceError(
            f"the entry point {script} is not a file; pass the path of the inference script"
        )
    code_dir = work_dir / "code"
    if (model_dir / "code").is_dir():
        shutil.copytree(model_dir / "code", code_dir)
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(script, code_dir / script.name)
    return code_dir


def prepare_model(
    model: str,
    work_dir: Path,
    env: Mapping[str, str],
    entry_point: str | None = None,
    source_dir: str | None = None,
) -> ModelSource:
    """Resolve MODEL and the inference code into local directories under ``work_dir``.

    Raises:
        ModelSourceError: MODEL or the code cannot be found, or an explicitly named entry
            point is missing.
        ArchiveLayoutError: MODEL is laid out as SageMaker would not serve it (everything
            under one top directory, the entry point outside ``code/`` or missing from it).
        UnsafeArchiveError: an archive has a member that would escape its directory.
        ArchiveFormatError: an archive is corrupt or truncated (its gzip CRC-32 or length
            does not match, checked before anything is served); nothing is extracted then.
    """
    model_dir = _unpack(_fetch(model, work_dir, "model.tar.gz"), work_dir, "model", "MODEL")
    program = entry_point or env.get("SAGEMAKER_PROGRAM") or DEFAULT_PROGRAM
    # With a source dir, a path is relative to it (``model/serve.py`` in ``.``).
    script = Path(entry_point) if entry_point and "/" in entry_point and not source_dir else None
    if script is not None:
        program = script.name
    submit = source_dir or env.get("SAGEMAKER_SUBMIT_DIRECTORY") or ""
    if script is not None:
        # The SDK's repack without source_dir: MODEL's code/ plus this one script.
        code_dir: Path | None = _overlay_script(model_dir, script, work_dir)
    elif submit and submit.rstrip("/") not in _CONTAINER_CODE_DIRS:
        fetched = _fetch(submit, work_dir, "sourcedir.tar.gz")
        code_dir = _unpack(fetched, work_dir, "code", "the source directory")
    else:
        code_dir = model_dir / "code" if (model_dir / "code").is_dir() else None
    explicit = entry_point is not None or source_dir is not None
    # The layout mistakes `sagepipe package` explains, explained before any worker starts
    # (a worker would fail with a traceback, or serve with the default handlers). An
    # explicitly named script that is missing gets its own message below.
    check_serving_layout(
        directory_entries(model_dir),
        model,
        program=program,
        code_from_archive=not explicit
        and (not submit or submit.rstrip("/") in _CONTAINER_CODE_DIRS),
    )
    if explicit and (code_dir is None or not (code_dir / program).is_file()):
        where = code_dir if code_dir is not None else model_dir / "code"
        listing = sorted(p.name for p in where.glob("*.py")) if where.is_dir() else []
        raise ModelSourceError(
            f"the entry point {program} is not in {where} (Python files there: "
            f"{listing or 'none'}); pass --entry-point and --source-dir that exist"
        )
    requirements = code_dir / "requirements.txt" if code_dir is not None else None
    return ModelSource(
        model_dir=model_dir.resolve(),
        code_dir=code_dir.resolve() if code_dir is not None else None,
        program=program,
        requirements=requirements if requirements is not None and requirements.is_file() else None,
    )
