"""The pipeline root: the directory local code paths are written relative to in the IR."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("sagepipe_root", default=None)


def current_root() -> Path:
    """The root set by :func:`use_root` (the pipeline file's directory), else the working
    directory."""
    return _ROOT.get() or Path.cwd()


@contextlib.contextmanager
def use_root(path: Path) -> Iterator[Path]:
    token = _ROOT.set(path.resolve())
    try:
        yield path.resolve()
    finally:
        _ROOT.reset(token)
