"""A processing job's ``ProcessingInputs``, downloaded as SageMaker does in File mode.

Each ``S3Input`` lands under its ``LocalPath``:

- ``S3DataType`` ``S3Prefix``: an ``S3Uri`` naming one object gives ``LocalPath/<its name>``;
  one naming a prefix gives every object under it, at its path relative to the prefix. (The
  local store matches whole path segments: ``s3://b/data`` does not also match ``data2/``.)
- ``ManifestFile``: the ``S3Uri`` is a manifest, a JSON list ``[{"prefix": "s3://..."},
  "key", ...]``; each listed object lands at ``LocalPath/<key>``.
- ``S3DataDistributionType`` ``ShardedByS3Key``: host ``k`` of ``N`` gets every ``N``-th
  object in key order (starting at the ``k``-th), ``FullyReplicated`` all of them.
- Inputs whose ``LocalPath`` lies inside another's (the SDK's ``code`` under
  ``/opt/ml/processing/input``) are downloaded after it, so their files are in place.

``S3InputMode`` ``Pipe`` (and ``S3CompressionType`` ``Gzip``, which SageMaker accepts only
with ``Pipe``), ``DatasetDefinition`` inputs (Athena, Redshift) and ``AppManaged`` inputs
have no local meaning and are refused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagepipe.local.calls.common import materialise
from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import to_local
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError, is_s3

PROCESSING_ROOT = "/opt/ml/processing"


def local_path_problem(where: str, path: object) -> str | None:
    """Why ``path`` cannot be a ``LocalPath`` (SageMaker wants it under
    ``/opt/ml/processing/``), or ``None`` (also for an expression)."""
    if not isinstance(path, str):
        return None
    parts = path.split("/")
    if not path.startswith(PROCESSING_ROOT + "/") or ".." in parts:
        return f"{where}.LocalPath {path!r} must be a path under {PROCESSING_ROOT}/"
    return None


def input_problems(where: str, item: dict[str, Any]) -> list[str]:
    """What in one ``ProcessingInputs`` item has no local meaning (``where`` names it)."""
    problems: list[str] = []
    if item.get("AppManaged") is True:
        problems.append(
            f"{where}.AppManaged is true: the job's own application downloads it on "
            "SageMaker, which has no local stand-in; set it to false"
        )
    if "DatasetDefinition" in item:
        problems.append(
            f"{where} is a DatasetDefinition (Athena or Redshift query), which the local "
            "engine cannot run; write the query's result to S3 and use an S3Input"
        )
        return problems
    s3 = item.get("S3Input")
    if not isinstance(s3, dict):
        problems.append(f"{where} has no S3Input")
        return problems
    if s3.get("S3InputMode") == "Pipe":
        problems.append(
            f"{where}.S3Input.S3InputMode is Pipe, which the local engine does not stream; use File"
        )
    elif s3.get("S3CompressionType") == "Gzip":
        problems.append(
            f"{where}.S3Input.S3CompressionType Gzip works only with S3InputMode Pipe "
            "(SageMaker refuses it in File mode); use None"
        )
    local = s3.get("LocalPath")
    if local is None:
        problems.append(f"{where}.S3Input has no LocalPath")
    else:
        found = local_path_problem(f"{where}.S3Input", local)
        if found:
            problems.append(found)
    return problems


def download_inputs(
    storage: Storage,
    inputs: list[dict[str, Any]],
    opt_ml: Path,
    host: tuple[int, int],
    log: Callable[[str], None],
) -> None:
    """Download every input into the host's ``opt_ml``.

    Args:
        storage: Where ``s3://`` URIs are read.
        inputs: The evaluated ``ProcessingInputs``.
        opt_ml: What this host sees as ``/opt/ml``.
        host: ``(index, count)`` of the host (0-based), for sharded inputs.
        log: Writes one line to the step log.
    """
    # Outer directories first: a nested LocalPath's files then land inside the outer one.
    ordered = sorted(inputs, key=lambda item: len(item["S3Input"]["LocalPath"].split("/")))
    for item in ordered:
        name, s3 = item["InputName"], item["S3Input"]
        what = f"ProcessingInputs {name!r}"
        dest = to_local(s3["LocalPath"], opt_ml)
        uri, data_type = s3["S3Uri"], s3.get("S3DataType")
        distribution = s3.get("S3DataDistributionType", "FullyReplicated")
        download = _DOWNLOADS.get(str(data_type))
        # Evaluated values are checked here: the API model's check saw only literal ones.
        if download is None or distribution not in ("FullyReplicated", "ShardedByS3Key"):
            raise StepFailure(
                f"{what}: S3DataType {data_type!r} / S3DataDistributionType "
                f"{distribution!r}; the types are {', '.join(_DOWNLOADS)}, the distributions "
                "FullyReplicated, ShardedByS3Key"
            )
        files = download(storage, uri, dest, what)
        if distribution == "ShardedByS3Key" and host[1] > 1:
            files = _keep_shard(files, dest, host)
        log(f"sagepipe: input {name!r}: {len(files)} file(s) from {uri} at {s3['LocalPath']}")


def _download_manifest(storage: Storage, uri: str, dest: Path, what: str) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="sagepipe-manifest-") as scratch:
        manifest = materialise(storage, uri, Path(scratch), what)
        if len(manifest) != 1:
            raise StepFailure(
                f"{what} has S3DataType ManifestFile, but {uri} is a prefix; it must name "
                "one manifest object"
            )
        entries = _manifest_entries(manifest[0].read_text(errors="replace"), uri, what)
    prefix, keys = entries
    files: list[Path] = []
    for key in keys:
        source = prefix.rstrip("/") + "/" + key.lstrip("/")
        target = dest.joinpath(*[p for p in key.split("/") if p])
        try:
            storage.get_file(source, target)
        except ObjectNotFoundError:
            raise StepFailure(
                f"{what}: the manifest {uri} lists {source}, where there is no object"
            ) from None
        except StorageError as exc:
            raise StepFailure(f"{what} reads {source}, which cannot be downloaded: {exc}") from None
        files.append(target)
    return files


def _manifest_entries(text: str, uri: str, what: str) -> tuple[str, list[str]]:
    """``(prefix, keys)`` of a manifest: ``[{"prefix": "s3://..."}, "key", ...]``."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StepFailure(f"{what}: the manifest {uri} is not JSON ({exc})") from None
    head = entries[0] if isinstance(entries, list) and entries else None
    prefix = head.get("prefix") if isinstance(head, dict) else None
    keys = entries[1:] if isinstance(entries, list) else []
    if not isinstance(prefix, str) or not is_s3(prefix):
        raise StepFailure(
            f"{what}: the manifest {uri} must be a JSON list whose first item is "
            '{"prefix": "s3://bucket/prefix/"}, followed by keys relative to it'
        )
    for key in keys:
        if not isinstance(key, str) or not key or ".." in key.split("/"):
            raise StepFailure(
                f"{what}: the manifest {uri} lists {key!r}; each entry after the prefix "
                "must be a key relative to it"
            )
    return prefix, keys


_DOWNLOADS: dict[str, Callable[[Storage, str, Path, str], list[Path]]] = {
    "S3Prefix": materialise,
    "ManifestFile": _download_manifest,
}


def _keep_shard(files: list[Path], dest: Path, host: tuple[int, int]) -> list[Path]:
    """Keep this host's share of ``files`` (every ``count``-th in key order), delete the
    rest."""
    index, count = host
    ordered = sorted(files, key=lambda path: path.relative_to(dest).as_posix())
    kept = ordered[index::count]
    for path in set(ordered) - set(kept):
        path.unlink()
    for directory in sorted((p for p in dest.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            shutil.rmtree(directory)
    return kept
