"""``load_pipeline(spec)``: the PIPELINE argument of the CLI, as a :class:`Pipeline`.

A spec is either a config file with a ``pipeline:`` section (``.json``, ``.yaml``, ``.yml``)
or ``path/to/file.py:attribute``, where the attribute is a :class:`Pipeline` or a function
with no required arguments returning one. The Python file is imported by path under a private
module name that is removed from ``sys.modules`` afterwards; while it runs, its directory is
the pipeline root and is importable (so it can import its sibling modules).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from sagepipe.config.documents import SUFFIXES
from sagepipe.definitions.config_file import pipeline_from_config_file
from sagepipe.errors import PipelineLoadError, did_you_mean
from sagepipe.pipeline import Pipeline
from sagepipe.pipeline.root import use_root

_USAGE = "give a config file (.json, .yaml, .yml) or path/to/file.py:attribute"


def load_pipeline(spec: str | Path) -> Pipeline:
    """Load the pipeline named by ``spec`` (a config file or ``file.py:attribute``).

    Raises:
        PipelineLoadError: The file or attribute does not exist, has the wrong type, or a
            config file has no ``pipeline:`` section.
    """
    text = str(spec)
    head, colon, attribute = text.rpartition(":")
    if colon and head.endswith(".py"):
        return _load_python(Path(head), attribute)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix == ".py":
        raise PipelineLoadError(
            f"{text}: name the pipeline inside the file, e.g. {text}:pipeline "
            "(a Pipeline or a function returning one)"
        )
    if suffix in SUFFIXES:
        if not path.is_file():
            raise PipelineLoadError(f"pipeline file {path} does not exist; {_USAGE}")
        return pipeline_from_config_file(path)
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        hint = f" (it holds {', '.join(found)})" if found else ""
        raise PipelineLoadError(f"{path} is a directory{hint}; {_USAGE}")
    raise PipelineLoadError(f"cannot load pipeline {text!r}: {_USAGE}")


def _load_python(path: Path, attribute: str) -> Pipeline:
    if not attribute.isidentifier():
        raise PipelineLoadError(
            f"{path}:{attribute}: {attribute!r} is not a Python name; "
            f"write {path}:<name of a Pipeline or a function returning one>"
        )
    if not path.is_file():
        raise PipelineLoadError(f"pipeline file {path} does not exist; {_USAGE}")
    file = path.resolve()
    with use_root(file.parent), _imported(file) as module:
        value = getattr(module, attribute, _MISSING)
        if value is _MISSING:
            offered = _candidates(module)
            raise PipelineLoadError(
                f"{file} has no attribute {attribute!r}{did_you_mean(attribute, offered)}; "
                f"it defines: {', '.join(offered) or 'no pipelines or functions'}"
            )
        return _as_pipeline(file, attribute, value)


_MISSING = object()


def _as_pipeline(file: Path, attribute: str, value: Any) -> Pipeline:
    where = f"{file}:{attribute}"
    if isinstance(value, Pipeline):
        return value
    if not callable(value):
        raise PipelineLoadError(
            f"{where} is a {type(value).__name__}, not a Pipeline or a function returning one"
        )
    required = _required_arguments(value)
    if required:
        raise PipelineLoadError(
            f"{where} needs the arguments {', '.join(required)}; name a Pipeline or a "
            "function that can be called with no arguments"
        )
    result = value()
    if not isinstance(result, Pipeline):
        raise PipelineLoadError(
            f"{where}() returned a {type(result).__name__}, not a Pipeline; return the "
            "pipeline (e.g. template.generate_pipeline(name))"
        )
    return result


def _required_arguments(function: Any) -> list[str]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, parameter in signature.parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]


def _candidates(module: ModuleType) -> list[str]:
    """Names in the module that could be a pipeline spec's attribute."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (
            isinstance(value, Pipeline)
            or (inspect.isfunction(value) and value.__module__ == module.__name__)
        )
    )


@contextlib.contextmanager
def _imported(file: Path) -> Iterator[ModuleType]:
    """Import ``file`` under a private name; it leaves ``sys.modules`` and ``sys.path`` on
    exit (modules the file itself imports stay imported, as with any import)."""
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:16]
    module_name = f"_sagepipe_pipeline_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PipelineLoadError(f"{file} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    # dataclasses and pydantic look a class's module up in sys.modules while it is created.
    sys.modules[module_name] = module
    directory = str(file.parent)
    sys.path.insert(0, directory)
    try:
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise PipelineLoadError(
                f"{exc.filename or file}:{exc.lineno}: syntax error: {exc.msg}"
            ) from exc
        except ImportError as exc:
            raise PipelineLoadError(f"{file}: cannot import: {exc}") from exc
        yield module
    finally:
        sys.modules.pop(module_name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
