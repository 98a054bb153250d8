"""CreateEndpointConfig and CreateEndpoint for real: a named local endpoint serving the model
over loopback HTTP, updated to a new configuration in place; DescribeEndpointConfig- and
DescribeEndpoint-shaped properties; the refusals."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagepipe.endpoints import EndpointNotFoundError, delete_endpoint, describe_endpoint
from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure

from .models import Calls, model_request, put_model

ENDPOINT = "churn-endpoint"


@pytest.fixture
def endpoint_home(calls: Calls) -> Iterator[Calls]:
    """The calls; the endpoint they start is deleted at the end."""
    yield calls
    # A test that failed before creating it leaves no endpoint to delete.
    with contextlib.suppress(EndpointNotFoundError):
        delete_endpoint(ENDPOINT, calls.home)


def create_model(calls: Calls, tmp_path: Path, name: str, scale: float) -> None:
    uri = put_model(calls.storage, tmp_path, key=f"{name}/model.tar.gz", scale=scale)
    local_call("Model").run(calls.context(name, "Model", {"ModelName": name, **model_request(uri)}))


def config_request(name: str, model: str) -> dict[str, Any]:
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1,
            }
        ],
    }


def invoke(url: str) -> Any:
    request = urllib.request.Request(
        f"{url}/invocations",
        data=b"1,2",
        headers={"Content-Type": "text/csv", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_endpoint_serves_and_is_updated(endpoint_home: Calls, tmp_path: Path) -> None:
    calls = endpoint_home
    create_model(calls, tmp_path, "first", scale=2.0)
    create_model(calls, tmp_path, "second", scale=10.0)

    config = local_call("EndpointConfig").run(
        calls.context("Config", "EndpointConfig", config_request("cfg-1", "first"))
    )
    endpoint = local_call("Endpoint").run(
        calls.context(
            "Deploy", "Endpoint", {"EndpointName": ENDPOINT, "EndpointConfigName": "cfg-1"}
        )
    )
    first_answer = invoke(str(describe_endpoint(ENDPOINT, calls.home).url))
    local_call("EndpointConfig").run(
        calls.context("Config2", "EndpointConfig", config_request("cfg-2", "second"))
    )
    updated = local_call("Endpoint").run(
        calls.context(
            "Deploy2", "Endpoint", {"EndpointName": ENDPOINT, "EndpointConfigName": "cfg-2"}
        )
    )
    second_answer = invoke(str(describe_endpoint(ENDPOINT, calls.home).url))

    assert config.properties["EndpointConfigName"] == "cfg-1"
    assert config.properties["EndpointConfigArn"].endswith(":endpoint-config/cfg-1")
    assert config.properties["ProductionVariants"][0]["ModelName"] == "first"
    assert endpoint.properties["EndpointName"] == ENDPOINT
    assert endpoint.properties["EndpointArn"].endswith(f":endpoint/{ENDPOINT}")
    assert endpoint.properties["EndpointStatus"] == "InService"
    assert endpoint.properties["EndpointConfigName"] == "cfg-1"
    assert updated.properties["EndpointConfigName"] == "cfg-2"
    assert (first_answer, second_answer) == ([6.0], [30.0])
    assert any("updating endpoint" in line for line in calls.logs["Deploy2"])


def test_unknown_model_and_unknown_config_fail_clearly(calls: Calls) -> None:
    with pytest.raises(StepFailure, match=r"ModelName 'ghost' is no model created"):
        local_call("EndpointConfig").run(
            calls.context("Config", "EndpointConfig", config_request("cfg", "ghost"))
        )
    with pytest.raises(StepFailure, match=r"EndpointConfigName 'cfg' is no endpoint configuration"):
        local_call("Endpoint").run(
            calls.context("Deploy", "Endpoint", {"EndpointName": "e", "EndpointConfigName": "cfg"})
        )


def test_problems_refuse_several_variants_and_async() -> None:
    request = config_request("cfg", "m")
    two = {**request, "ProductionVariants": request["ProductionVariants"] * 2}
    asynchronous = {**request, "AsyncInferenceConfig": {"OutputConfig": {}}}

    assert local_call("EndpointConfig").problems("C", request) == []
    assert (
        "ProductionVariants holds 2 variants" in local_call("EndpointConfig").problems("C", two)[0]
    )
    assert "asynchronous inference" in local_call("EndpointConfig").problems("C", asynchronous)[0]
