"""Modules a command may need that a plain ``pip install sagepipe`` does not bring, and the
one-line fix for each.

``torch`` is the user's choice (its CPU or CUDA build), ``boto3`` is the ``aws`` extra, and
``botocore`` and ``numpy`` are dependencies that only a damaged environment lacks. The CLI turns
a :class:`ModuleNotFoundError` of any of them into a :class:`MissingDependencyError` with
:func:`missing_dependency`; commands whose imports happen in child processes (training
scripts, model server workers) check up front with :func:`require`. Only the standard library
is imported here.
"""

from __future__ import annotations

import importlib.util

from sagepipe.errors import MissingDependencyError

_REINSTALL = (
    "it is a dependency of sagepipe: reinstall it with pip install --force-reinstall sagepipe"
)

INSTALL_HINTS: dict[str, str] = {
    "torch": (
        "is not installed (PyTorch: training and serving models need it); install the build "
        "that fits this machine, CPU or CUDA, your choice: pip install torch "
        "(other builds: https://pytorch.org/get-started/locally/)"
    ),
    "boto3": (
        "is not installed (real S3 and SageMaker calls need it); install sagepipe's aws extra: "
        "pip install 'sagepipe[aws]'"
    ),
    "botocore": f"is not installed (SageMaker's API model); {_REINSTALL}",
    "numpy": f"is not installed (the model server's codecs); {_REINSTALL}",
}


def missing_dependency(exc: ModuleNotFoundError) -> MissingDependencyError | None:
    """The error to show for ``exc`` when it names a module of :data:`INSTALL_HINTS`, else
    ``None`` (the import failed for another reason, e.g. in the user's own code)."""
    top = (exc.name or "").partition(".")[0]
    hint = INSTALL_HINTS.get(top)
    return MissingDependencyError(f"{top} {hint}") if hint is not None else None


def require(module: str) -> None:
    """Raise :class:`MissingDependencyError` unless ``module`` (a key of
    :data:`INSTALL_HINTS`) can be imported; it is located, not imported (torch takes
    seconds to import).

    Raises:
        MissingDependencyError: ``module`` is not installed.
    """
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(f"{module} {INSTALL_HINTS[module]}")
