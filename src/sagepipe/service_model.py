"""SageMaker's API model as botocore ships it, and step properties as paths into it.

A leaf module: the compiler checks requests against it and the local engine checks ``Get``
references to step properties with it, so both backends read one copy. The model is loaded
once per process from botocore's data files (offline: they are files inside botocore), on first
use only, so importing this module costs nothing.

A step's properties are the response of its Describe* call (``DescribeTrainingJob`` for a
Training step...), as the SageMaker SDK's ``properties.py`` models them: a property path walks
that response shape member by member, and a list is indexed by position (``[0]``) or by the
name its items carry (``Outputs['train']``, ``FinalMetricDataList['loss']``).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

from sagepipe.errors import MissingDependencyError, PropertyPathError, did_you_mean
from sagepipe.expressions import property_path_tokens

#: The API whose request a step's ``Arguments`` is, and the response its properties mirror.
STEP_APIS: dict[str, tuple[str, str]] = {
    "Training": ("CreateTrainingJob", "DescribeTrainingJob"),
    "Processing": ("CreateProcessingJob", "DescribeProcessingJob"),
    "Transform": ("CreateTransformJob", "DescribeTransformJob"),
    "Model": ("CreateModel", "DescribeModel"),
    "RegisterModel": ("CreateModelPackage", "DescribeModelPackage"),
    "EndpointConfig": ("CreateEndpointConfig", "DescribeEndpointConfig"),
    "Endpoint": ("CreateEndpoint", "DescribeEndpoint"),
}


@functools.cache
def service_model() -> dict[str, Any]:
    """botocore's ``sagemaker`` service model (``service-2``, its latest API version).

    Read straight from botocore's data files, as its loader finds them: importing botocore
    and its loader costs about 0.3 s, paid by every step process that checks or describes a
    request.
    """
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("botocore is not installed: pip install botocore")
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "sagemaker"
    version = max(p.name for p in data.iterdir() if p.is_dir())
    plain = data / version / "service-2.json"
    if plain.is_file():
        text = plain.read_bytes()
    else:
        text = gzip.decompress((data / version / "service-2.json.gz").read_bytes())
    model: dict[str, Any] = json.loads(text)
    return model


def shape(name: str) -> dict[str, Any]:
    """The shape called ``name`` in the service model."""
    found: dict[str, Any] = service_model()["shapes"][name]
    return found


def request_shape(api: str) -> str:
    """Name of the request shape of ``api`` (e.g. ``CreateTrainingJobRequest``)."""
    return str(service_model()["operations"][api]["input"]["shape"])


def response_shape(api: str) -> str:
    """Name of the response shape of ``api`` (e.g. ``DescribeTrainingJobResponse``)."""
    return str(service_model()["operations"][api]["output"]["shape"])


def property_shape(step_type: str, response_api: str, path: str) -> str:
    """The name of the shape that ``path`` reaches in the response of ``response_api``.

    Args:
        step_type: The step's type, for messages (``Training``).
        response_api: The Describe* call whose response the step's properties are.
        path: The property path after ``Steps.<step>.``.

    Raises:
        PropertyPathError: The path cannot be read, or leaves the response shape; the message
            names the member that does not exist and what does.
    """
    current = response_shape(response_api)
    for token in property_path_tokens(path):
        spec = shape(current)
        if token.kind == "member":
            members: dict[str, Any] = spec.get("members", {})
            member = members.get(str(token.key))
            if member is None:
                raise PropertyPathError(
                    f"a {step_type} step has no property {token.key!r} here"
                    f"{did_you_mean(str(token.key), members)}"
                )
            current = member["shape"]
        elif spec["type"] in ("list", "map"):
            current = spec["member" if spec["type"] == "list" else "value"]["shape"]
        else:
            raise PropertyPathError(f"{current} cannot be indexed")
    return current
