"""sagepipe: declare PyTorch pipelines once, run them locally or compile them for SageMaker.

Importing this package is cheap: it never imports torch, boto3, numpy or the server stack.
"""

from typing import Any

from sagepipe.errors import SagepipeError

__all__ = ["Predictor", "PyTorchModel", "SagepipeError", "__version__", "get_execution_role"]

# Public names loaded on first use, so that `import sagepipe` stays light (and so that the
# root package, which every module imports, depends on no layer).
_LAZY = {
    "Predictor": "sagepipe.serving.predictor",
    "PyTorchModel": "sagepipe.pytorch.model",
    "get_execution_role": "sagepipe.execution_role",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from sagepipe.version import package_version

        return package_version()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagepipe' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
