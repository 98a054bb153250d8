"""Finding the user's inference script and binding its handlers, with arity detection.

Each handler is optional and may take a trailing ``context`` argument; the number of
parameters decides, once at load time, as SageMaker's toolkit decides per call.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sagepipe.serving.errors import HandlerSignatureError, ModelSourceError

#: Handler name -> its arguments without ``context``.
HANDLER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "model_fn": ("model_dir",),
    "input_fn": ("request_body", "content_type"),
    "predict_fn": ("input_data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "request_body", "content_type", "accept"),
}


@dataclass(frozen=True)
class BoundHandler:
    """A user's handler and whether it takes the trailing ``context`` argument."""

    func: Callable[..., Any]
    takes_context: bool


def load_user_module(code_dir: Path | None, program: str) -> ModuleType | None:
    """Import ``program`` from ``code_dir`` with ``code_dir`` on ``sys.path``.

    Returns:
        The module, or None when there is no code directory or no such file there (the
        defaults are used then, as in SageMaker when the module cannot be found).
    """
    if code_dir is None:
        return None
    path = code_dir / program
    if not path.is_file():
        return None
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    name = program.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelSourceError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def bind_handler(module: ModuleType | None, name: str) -> BoundHandler | None:
    """The module's handler ``name`` with its context arity, or None when not defined."""
    func = getattr(module, name, None) if module is not None else None
    if func is None:
        return None
    if not callable(func):
        where = getattr(module, "__file__", "the inference script")
        raise HandlerSignatureError(f"{name} in {where} is not a function")
    expected = HANDLER_ARGUMENTS[name]
    parameters = list(inspect.signature(func).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return BoundHandler(func, takes_context=True)
    count = len(parameters)
    if count == len(expected):
        return BoundHandler(func, takes_context=False)
    if count == len(expected) + 1:
        return BoundHandler(func, takes_context=True)
    where = getattr(module, "__file__", "the inference script")
    signature = ", ".join(expected)
    raise HandlerSignatureError(
        f"{name} in {where} takes {count} arguments; define it as {name}({signature}) or "
        f"{name}({signature}, context)"
    )


def predict_is_batchable(handler: BoundHandler | None) -> bool:
    """Whether a user's predict_fn said it is batch-safe (``predict_fn.batchable = True``)."""
    return handler is None or getattr(handler.func, "batchable", False) is True
