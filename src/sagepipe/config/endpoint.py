"""Config of the endpoint step."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import field_validator

from sagepipe.config.base import BasePipelineConfig, InstanceType, PositiveInt

_ENDPOINT = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class EndpointConfig(BasePipelineConfig):
    """A real-time endpoint serving a model.

    Attributes:
        endpoint_name: Endpoint name (1-63 letters, digits and hyphens); required.
        instance_type: Default ``ml.m5.large``.
        initial_instance_count: Default 1.
    """

    step_type: ClassVar[str] = "EndpointStep"

    endpoint_name: str
    instance_type: InstanceType = "ml.m5.large"
    initial_instance_count: PositiveInt = 1

    @field_validator("endpoint_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ENDPOINT.match(value):
            raise ValueError(
                f"{value!r} is not an endpoint name (1-63 letters, digits and hyphens, "
                "starting with a letter or digit)"
            )
        return value
