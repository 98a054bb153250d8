"""PyTorch deep learning container (DLC) image URIs by region, version, Python and processor.

A leaf module: the SageMaker compiler chooses the images of jobs and models with it, and the
local engine records the image a model or model package would run on SageMaker.

The table (``sagepipe/data/pytorch_images.json``) lists, for the ``training`` and ``inference``
images, the framework versions sagepipe supports, their Python versions, and the ECR account
that hosts them in each region (the same accounts the SageMaker Python SDK uses). An image URI is
``<account>.dkr.ecr.<region>.<domain>/pytorch-<scope>:<version>-<cpu|gpu>-<py>``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Literal

from sagepipe.errors import PipelineDefinitionError

ImageScope = Literal["training", "inference"]


class ImageNotFoundError(PipelineDefinitionError):
    """No PyTorch container image is known for a framework/Python/processor combination."""


# GPU instance families (p* and g*); inf*/trn* need Neuron images, which this table lacks.
_NEURON_PREFIXES = ("inf", "trn")


@functools.cache
def image_table() -> dict[str, Any]:
    """The image table, read once from the package data."""
    text = resources.files("sagepipe").joinpath("data/pytorch_images.json").read_text()
    table: dict[str, Any] = json.loads(text)
    return table


def processor_for(instance_type: str) -> str:
    """``gpu`` for ``ml.p*``/``ml.g*`` instances, ``cpu`` for the others.

    Raises:
        ImageNotFoundError: For Inferentia/Trainium instances (they need Neuron images).
    """
    parts = instance_type.split(".")
    family = parts[1] if len(parts) == 3 else instance_type
    if family.startswith(_NEURON_PREFIXES):
        raise ImageNotFoundError(
            f"instance type {instance_type} needs an AWS Neuron image, which sagepipe does "
            "not look up; set image_uri in the step's config"
        )
    return "gpu" if family[:1] in ("p", "g") else "cpu"


def supported_versions(scope: ImageScope) -> list[str]:
    """``"<version> (<py>...)"`` for every supported framework version of ``scope``."""
    versions = image_table()["scopes"][scope]["versions"]
    return [f"{v} ({', '.join(c['py_versions'])})" for v, c in versions.items()]


def image_uri(
    scope: ImageScope,
    region: str,
    framework_version: str,
    py_version: str,
    instance_type: str,
) -> str:
    """The PyTorch DLC image for a job.

    Args:
        scope: ``training`` (training and processing jobs) or ``inference`` (models).
        region: AWS region of the job.
        framework_version: PyTorch version, e.g. ``2.1.0`` (``2.1`` is accepted as an alias).
        py_version: Python version, e.g. ``py310``.
        instance_type: Instance type; selects the cpu or gpu image.

    Raises:
        ImageNotFoundError: The combination is not in the table; the message lists what is.
    """
    table = image_table()
    spec = table["scopes"][scope]
    version = spec["aliases"].get(framework_version, framework_version)
    config = spec["versions"].get(version)
    if config is None:
        raise ImageNotFoundError(
            f"no PyTorch {scope} image for framework_version {framework_version!r}; "
            f"supported: {'; '.join(supported_versions(scope))}. Use one of these, or set "
            "image_uri in the config"
        )
    if py_version not in config["py_versions"]:
        raise ImageNotFoundError(
            f"the PyTorch {version} {scope} image has no Python {py_version!r}; use "
            f"py_version {' or '.join(config['py_versions'])}, or set image_uri in the config"
        )
    processor = processor_for(instance_type)
    if processor not in config["processors"]:
        raise ImageNotFoundError(
            f"the PyTorch {version} {scope} image has no {processor} variant "
            f"(it has {', '.join(config['processors'])}); set image_uri in the config"
        )
    accounts: dict[str, str] = table["registries"][config["registries"]]
    account = accounts.get(region)
    if account is None:
        raise ImageNotFoundError(
            f"the PyTorch {version} {scope} image is not published in region {region!r}; "
            f"regions: {', '.join(sorted(accounts))}. Set image_uri in the config"
        )
    registry = f"{account}.dkr.ecr.{region}.{_domain(region)}"
    return f"{registry}/{spec['repository']}:{version}-{processor}-{py_version}"


def _domain(region: str) -> str:
    table = image_table()
    for prefix, domain in table["domains"].items():
        if region.startswith(prefix):
            return str(domain)
    return str(table["default_domain"])
