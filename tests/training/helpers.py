"""Types and helpers shared by the training-runtime tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sagepipe.training import TrainingJobResult

WriteSource = Callable[[dict[str, str]], Path]
RunJob = Callable[..., tuple[TrainingJobResult, list[str]]]


def make_channel(root: Path, name: str, files: dict[str, str]) -> Path:
    """A channel directory with the given files."""
    channel = root / "channels" / name
    for relative, text in files.items():
        path = channel / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return channel
