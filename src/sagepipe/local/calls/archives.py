"""Finding and fetching the archives that model, model package, transform and endpoint calls
(and sagepipe's packaging and payload steps) read.

A request names an archive either as the object itself (``.../output/model.tar.gz``, a
local path) or as a processing output prefix, as SageMaker records it
(``ProcessingOutputConfig.Outputs['packaged_model'].S3Output.S3Uri`` is the prefix the job
uploaded ``model.tar.gz`` under). Under a prefix the archive is ``<prefix>/<name>`` when it
exists, else the one ``*.tar.gz`` object there (as the SageMaker container scripts look for
it); anything else fails the step with what was found.
"""

from __future__ import annotations

from pathlib import Path

from sagepipe.local.errors import StepFailure
from sagepipe.storage import ObjectNotFoundError, Storage, StorageError, is_s3, local_path

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def child_uri(prefix: str, name: str) -> str:
    """``<prefix>/<name>`` for an ``s3://`` prefix or a local directory."""
    if is_s3(prefix):
        return f"{prefix.rstrip('/')}/{name}"
    return str(local_path(prefix) / name)


def find_archive(storage: Storage, uri: str, name: str, what: str) -> str:
    """The URI of the archive ``uri`` names: the object itself, ``<uri>/<name>``, or the one
    ``*.tar.gz`` under the prefix ``uri``.

    Raises:
        StepFailure: there is no archive there, or several and none is called ``name``.
    """
    try:
        if storage.exists(uri):
            return uri
        exact = child_uri(uri, name)
        if storage.exists(exact):
            return exact
        found = [i.uri for i in storage.list(uri) if not i.is_prefix]
    except StorageError as exc:
        raise StepFailure(f"{what} reads {uri}, which cannot be listed: {exc}") from None
    archives = [u for u in found if u.endswith(ARCHIVE_SUFFIXES)]
    if len(archives) == 1:
        return archives[0]
    if not found:
        raise StepFailure(
            f"{what} reads {uri}, where there is no object and no objects under that prefix; "
            "check the path, or that the step producing it wrote its output there"
        )
    listing = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
    raise StepFailure(
        f"{what} reads the prefix {uri}, which holds no {name} and "
        f"{'several archives' if archives else 'no archive'} ({listing}); name the archive "
        "object itself"
    )


def local_archive(storage: Storage, uri: str, directory: Path, what: str) -> Path:
    """A local file holding the object ``uri``: the file itself for a path or ``file://``
    URI, else a download into ``directory``."""
    if not is_s3(uri):
        path = local_path(uri)
        if not path.is_file():
            raise StepFailure(f"{what} reads {uri}, which is not a file")
        return path
    target = directory / uri.rstrip("/").rsplit("/", 1)[-1]
    try:
        storage.get_file(uri, target)
    except ObjectNotFoundError:
        raise StepFailure(f"{what} reads {uri}, which does not exist") from None
    except StorageError as exc:
        raise StepFailure(f"{what} reads {uri}, which cannot be downloaded: {exc}") from None
    return target


def scratch(step_dir: Path) -> Path:
    """A directory of the step for downloaded archives."""
    directory = step_dir / "archives"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
