"""The starter project ``sagepipe config init DIR`` writes: a commented pipeline config for a
tabular example and the scripts it runs (preprocess, train, inference)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from sagepipe.definitions.errors import ExistingFileError

TEMPLATE = "tabular"
PIPELINE_FILE = "pipeline.yaml"


def starter_files(template: str = TEMPLATE) -> dict[str, str]:
    """The starter's files: relative POSIX path -> text."""
    root = resources.files("sagepipe.definitions").joinpath("templates", template)
    files: dict[str, str] = {}
    _collect(root, "", files)
    return dict(sorted(files.items()))


def _collect(node: Traversable, prefix: str, files: dict[str, str]) -> None:
    for child in node.iterdir():
        if child.name == "__pycache__" or child.name.endswith(".pyc"):
            continue
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            _collect(child, f"{relative}/", files)
        else:
            files[relative] = child.read_text(encoding="utf-8")


def write_starter(directory: str | Path, template: str = TEMPLATE) -> list[Path]:
    """Write the starter files under ``directory`` (created if missing).

    Nothing is written when any of the files already exists.

    Returns:
        The files written, ``pipeline.yaml`` first.

    Raises:
        ExistingFileError: A file would be overwritten.
    """
    target = Path(directory)
    files = starter_files(template)
    existing = [target / name for name in files if (target / name).exists()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        raise ExistingFileError(
            f"not writing the starter into {target}: {', '.join(map(str, existing))} "
            f"already {verb}; choose a new or empty directory (nothing was written)"
        )
    written: list[Path] = []
    for name in sorted(files, key=lambda n: (n != PIPELINE_FILE, n)):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name], encoding="utf-8")
        written.append(path)
    return written
