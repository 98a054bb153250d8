"""What a training job downloads before it starts and syncs after: its code (the
``sagemaker_submit_directory``), its channels, its checkpoints.

Sources are ``s3://`` URIs (the local object store or S3); for jobs started on this machine
(``sagepipe train``, the ``PyTorch`` local mode) also ``file://`` URIs and paths, as the
SageMaker SDK's local mode accepts them.

A channel with no objects fails the job, naming the channel and URI: SageMaker refuses such a
job too ("No S3 objects found under S3 URL"). That is the one rule for every local job.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sagepipe.errors import SagepipeError
from sagepipe.local.calls.common import download_code, materialise
from sagepipe.local.calls.training_request import ChannelRequest
from sagepipe.local.errors import StepFailure
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError, is_s3, local_path

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_IGNORED_CODE = ("__pycache__", ".git")


def _local_source(uri: str) -> Path | None:
    """The local path of a ``file://`` URI or path, or None for an ``s3://`` URI."""
    return None if is_s3(uri) else local_path(uri).absolute()


def _download(storage: Storage, uri: str, dest: Path, what: str) -> list[Path]:
    files = materialise(storage, uri, dest, what)
    if not files:
        raise StepFailure(
            f"{what} reads {uri}, where there is no object and no objects under that prefix; "
            "SageMaker fails a job whose input is empty: check the URI, or that the step "
            "producing it wrote files there"
        )
    return files


def stage_code(storage: Storage, uri: str, dest: Path, skip: Path | None = None) -> Path:
    """Put the code of ``sagemaker_submit_directory`` into ``dest`` (emptied first).

    A ``sourcedir.tar.gz`` is extracted safely (no member outside ``dest``); a prefix or a
    directory is copied. ``skip`` (the sagepipe home, when it sits inside a source directory)
    is left out so that a job never copies itself.
    """
    what = "HyperParameters.sagemaker_submit_directory"
    if dest.exists():
        shutil.rmtree(dest)
    source = _local_source(uri)
    if source is not None and source.is_dir():

        def ignore(directory: str, names: list[str]) -> set[str]:
            inside = {n for n in names if skip is not None and Path(directory, n) == skip}
            return inside | {n for n in names if n in _IGNORED_CODE}

        shutil.copytree(source, dest, ignore=ignore)
        return dest
    if source is None:
        try:
            download_code(storage, uri, dest, what)
        except StepFailure:
            raise
        except SagepipeError as exc:  # an unsafe or corrupt sourcedir.tar.gz
            raise StepFailure(f"{what} {uri}: {exc}") from None
        if not any(dest.iterdir()):
            _download(storage, uri, dest, what)  # says that there is nothing there
        return dest
    if not source.is_file():
        raise StepFailure(f"{what}: {uri} is neither a directory nor a sourcedir.tar.gz")
    _extract(source, dest, uri)
    return dest


def _extract(archive: Path, dest: Path, uri: str) -> None:
    from sagepipe.artifacts.safety import safe_extract

    if not archive.name.endswith(_ARCHIVE_SUFFIXES):
        raise StepFailure(
            f"HyperParameters.sagemaker_submit_directory: {uri} is a file but not a "
            "sourcedir.tar.gz"
        )
    try:
        safe_extract(archive, dest)
    except SagepipeError as exc:
        raise StepFailure(f"HyperParameters.sagemaker_submit_directory {uri}: {exc}") from None


def stage_channel(
    storage: Storage, channel: ChannelRequest, root: Path, log: Callable[[str], None]
) -> Path:
    """The channel's files on local disk: a local directory as it is, else downloaded into
    ``root/<name>`` (an ``S3Prefix`` below the prefix, a ``ManifestFile`` by its keys)."""
    what = f"InputDataConfig channel {channel.name!r}"
    source = _local_source(channel.uri)
    if source is not None and source.is_dir() and channel.data_type == "S3Prefix":
        log(f"sagepipe: channel {channel.name!r}: {source}")
        return source
    dest = root / channel.name
    if dest.exists():
        shutil.rmtree(dest)
    if channel.data_type == "ManifestFile":
        count = _from_manifest(storage, channel.uri, dest, what)
    else:
        count = len(_download(storage, channel.uri, dest, what))
    log(f"sagepipe: channel {channel.name!r}: {count} file(s) from {channel.uri}")
    return dest


def _from_manifest(storage: Storage, uri: str, dest: Path, what: str) -> int:
    """Download what a manifest lists: ``[{"prefix": "s3://b/p/"}, "key1", "key2", ...]``,
    each object to its key relative to the prefix (as SageMaker does)."""
    with tempfile.TemporaryDirectory() as scratch:
        manifest = Path(scratch) / "manifest"
        _download_one(storage, uri, manifest, f"{what} (manifest)")
        try:
            entries = json.loads(manifest.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StepFailure(f"{what}: manifest {uri} is not JSON: {exc}") from None
    prefix = entries[0].get("prefix") if entries and isinstance(entries[0], dict) else None
    keys = entries[1:] if prefix is not None else []
    if not isinstance(prefix, str) or not keys or not all(isinstance(k, str) for k in keys):
        raise StepFailure(
            f'{what}: manifest {uri} must be a JSON list: a {{"prefix": "s3://..."}} '
            "object, then at least one key relative to it"
        )
    for key in keys:
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts:
            raise StepFailure(f"{what}: manifest {uri} lists {key!r}, which leaves the channel")
        _download_one(storage, prefix + key, dest.joinpath(*relative.parts), what)
    return len(keys)


def _download_one(storage: Storage, uri: str, dest: Path, what: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        storage.get_file(uri, dest)
    except ObjectNotFoundError:
        raise StepFailure(f"{what}: {uri} does not exist") from None
    except StorageError as exc:
        raise StepFailure(f"{what}: {uri} cannot be downloaded: {exc}") from None


def restore_checkpoints(
    storage: Storage, uri: str, local: list[Path], log: Callable[[str], None]
) -> None:
    """Download ``CheckpointConfig.S3Uri`` into each host's checkpoint directory (nothing
    there yet is not an error: a first run)."""
    try:
        found = [item for item in storage.list(uri) if not item.is_prefix]
    except StorageError as exc:
        raise StepFailure(f"CheckpointConfig.S3Uri: {uri} cannot be listed: {exc}") from None
    if not found:
        return
    for directory in local:
        directory.mkdir(parents=True, exist_ok=True)
        storage.get_prefix(uri, directory)
    log(f"sagepipe: checkpoints restored from {uri} ({len(found)} file(s))")


def save_checkpoints(storage: Storage, local: Path, uri: str, log: Callable[[str], None]) -> None:
    """Upload the first host's checkpoint directory to ``CheckpointConfig.S3Uri`` (also after
    a failed job, as SageMaker keeps syncing while the job runs)."""
    if not local.is_dir() or not any(local.iterdir()):
        return
    uploaded = storage.put_dir(local, uri)
    log(f"sagepipe: checkpoints saved to {uri} ({len(uploaded)} file(s))")
