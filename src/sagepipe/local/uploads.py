"""Uploads that can be undone: every URI is written to a manifest before it is uploaded.

A step's outputs become visible only when its step process succeeds. If it fails, is
stopped or is killed mid-upload, :func:`roll_back` deletes whatever the manifest names, so
no partial output stays behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from sagepipe.storage import Storage, is_s3, local_path


class Uploader:
    """Uploads files and trees, recording each URI in ``manifest`` first.

    Args:
        storage: Where to upload.
        manifest: The manifest file (appended to).
    """

    def __init__(self, storage: Storage, manifest: Path) -> None:
        self.storage = storage
        self.manifest = manifest

    def _intend(self, uri: str) -> None:
        with self.manifest.open("a") as handle:
            handle.write(uri + "\n")

    def upload_file(self, local: Path, uri: str) -> None:
        self._intend(uri)
        self.storage.put_file(local, uri)

    def upload_tree(self, local_dir: Path, prefix: str) -> list[str]:
        """Upload every file under ``local_dir`` below ``prefix``; returns their URIs."""
        uris: list[str] = []
        base = prefix.rstrip("/")
        for dirpath, dirnames, filenames in os.walk(local_dir):
            dirnames.sort()
            for name in sorted(filenames):
                relative = Path(dirpath, name).relative_to(local_dir).as_posix()
                uri = f"{base}/{relative}" if is_s3(base) else str(local_path(base) / relative)
                self.upload_file(Path(dirpath, name), uri)
                uris.append(uri)
        return uris


def roll_back(storage: Storage, manifest: Path) -> int:
    """Delete every URI the manifest names; returns how many objects went."""
    if not manifest.is_file():
        return 0
    deleted = 0
    for uri in dict.fromkeys(manifest.read_text().splitlines()):
        if uri:
            deleted += storage.delete(uri)
    manifest.unlink()
    return deleted
