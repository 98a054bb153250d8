"""Which local runtime stands in for a container image.

SageMaker runs each job or model in a container image; locally, the images sagepipe knows map
to a Python runtime on this machine (this interpreter, or the per-requirements venv a job's
``requirements.txt`` asks for). Anything else is refused before a run starts, naming the step
and the image: its behaviour could not be reproduced.

Known images (any account, region, partition domain, version, cpu/gpu and Python tag):

- the PyTorch images of the SageMaker SDK's table (:mod:`sagepipe.images`): the AWS Deep
  Learning Containers ``<account>.dkr.ecr.<region>.<domain>/pytorch-training:<version>-
  <cpu|gpu>-<py>[-<suffix>]`` and ``pytorch-inference:...`` (``py3``, ``py36`` ... ``py313``
  tags, suffixes such as ``-cu110-ubuntu18.04``), the Neuron training images
  ``pytorch-training-neuron:<version>-neuron-<py>-...``, and the first SageMaker PyTorch images
  (0.4.0 to 1.1.0) ``sagemaker-pytorch:<version>-<cpu|gpu>-<py2|py3>``, whose one repository
  serves training and inference;
- SageMaker's scikit-learn images: ``.../sagemaker-scikit-learn:<version>-cpu-py3``
  (processing scripts run with this interpreter; scikit-learn must be installed here).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

RuntimeKind = Literal["pytorch", "pytorch-training", "pytorch-inference", "sklearn"]

_ECR = (
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)"
    r"\.(?P<domain>amazonaws\.com(?:\.cn)?|[a-z0-9.-]+)"
)
_PYTORCH = re.compile(
    _ECR + r"/(?:pytorch-(?P<scope>training|inference)|sagemaker-pytorch)"
    r":(?P<version>\d+\.\d+(?:\.\d+)?)-(?P<processor>cpu|gpu)-(?P<py>py\d+)(?:-[A-Za-z0-9._-]+)?$"
)
_NEURON = re.compile(
    _ECR + r"/pytorch-training-neuron"
    r":(?P<version>\d+\.\d+(?:\.\d+)?)-neuron-(?P<py>py\d+)(?:-[A-Za-z0-9._-]+)?$"
)
_SKLEARN = re.compile(_ECR + r"/sagemaker-scikit-learn:(?P<version>[0-9.]+-[0-9]+)-cpu-py3$")


_TORCH_VERSION = re.compile(r"^__version__\s*(?::\s*str\s*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@dataclass(frozen=True)
class LocalRuntime:
    """The local stand-in for one image.

    Attributes:
        kind: What the image is (``pytorch``: the early ``sagemaker-pytorch`` images, which
            serve training and inference).
        image: The image URI as the request names it.
        framework_version: PyTorch's (or scikit-learn's) version in the image.
        processor: ``cpu``, ``gpu`` or ``trn`` (Neuron).
        py_version: The image's Python tag (``py310``).
    """

    kind: RuntimeKind
    image: str
    framework_version: str
    processor: str
    py_version: str


def local_runtime(image: str) -> LocalRuntime | None:
    """The runtime that stands in for ``image`` here, or ``None`` when none does."""
    found = _PYTORCH.match(image)
    if found is not None:
        kinds: dict[str | None, RuntimeKind] = {
            "training": "pytorch-training",
            "inference": "pytorch-inference",
            None: "pytorch",  # sagemaker-pytorch: one image for training and inference
        }
        kind = kinds[found["scope"]]
        return LocalRuntime(kind, image, found["version"], found["processor"], found["py"])
    found = _NEURON.match(image)
    if found is not None:
        return LocalRuntime("pytorch-training", image, found["version"], "trn", found["py"])
    found = _SKLEARN.match(image)
    if found is not None:
        return LocalRuntime("sklearn", image, found["version"], "cpu", "py3")
    return None


def image_problem(step_name: str, field: str, image: object) -> str | None:
    """One line saying why ``image`` cannot run here, or ``None`` (also for an image that is
    still an expression: it is checked once evaluated)."""
    reason = unsupported_image(field, image)
    return None if reason is None else f"step {step_name!r}: {reason}"


def unsupported_image(field: str, image: object) -> str | None:
    """Why ``image`` (the value of ``field``) has no local runtime, or ``None``."""
    if not isinstance(image, str) or local_runtime(image) is not None:
        return None
    return (
        f"{field} {image!r} has no local runtime: the local engine runs only the PyTorch "
        "images the SageMaker SDK knows (pytorch-training, pytorch-inference, "
        "pytorch-training-neuron, sagemaker-pytorch) and SageMaker's scikit-learn images, "
        "whose behaviour it reproduces; a custom image runs on SageMaker only"
    )


@functools.cache
def local_torch_version() -> str | None:
    """The version of the torch installed here, or ``None`` if there is none.

    Read from ``torch/version.py`` without importing torch (seconds) or scanning every
    installed distribution with :mod:`importlib.metadata` (a third of a second a step)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    version_file = Path(spec.origin).parent / "version.py"
    text = version_file.read_text(errors="replace") if version_file.is_file() else ""
    found = _TORCH_VERSION.search(text)
    return found[1] if found else None


def framework_version_warning(runtime: LocalRuntime, marker_dir: Path) -> str | None:
    """The warning that a PyTorch image's version differs from the local torch, given once
    per run: ``None`` for a non-PyTorch image, a matching version (major and minor: patch
    releases do not change behaviour a pipeline relies on), or when an earlier step of the
    run already gave the same warning.

    Args:
        runtime: The step's image.
        marker_dir: The execution's directory; a marker file there records that the warning
            was given (created atomically, so parallel steps give it once between them).
    """
    marker = marker_dir / f".warned-pytorch-{runtime.framework_version}"
    if runtime.kind == "sklearn" or marker.exists():
        return None  # (the marker first: finding torch's version costs a step ~0.1 s)
    local = local_torch_version()
    if local is not None and _major_minor(local) == _major_minor(runtime.framework_version):
        return None
    here = f"torch {local}" if local is not None else "no torch"
    # The py2 images (PyTorch 0.4.0 to 1.4.0) ran Python 2; this runtime is Python 3.
    python = (
        "; it runs Python 2 scripts, this runtime Python 3" if runtime.py_version == "py2" else ""
    )
    warning = (
        f"the image {runtime.image} has PyTorch {runtime.framework_version}{python}; the local "
        f"runtime has {here}, so results may differ from SageMaker's"
    )
    marker_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return None
    return warning


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(re.split(r"[.+]", version)[:2])
