"""Local endpoints: real detached servers, state in the run store, crashes seen as Failed."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from sagepipe.endpoints import (
    DELETED,
    FAILED,
    IN_SERVICE,
    EndpointError,
    EndpointNotFoundError,
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    list_endpoints,
)


def _invoke(url: str, payload: object) -> object:
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_create_serves_and_delete_stops(home: Path, doubler: Path) -> None:
    record = create_endpoint("doubler", str(doubler), workers=1)
    assert record.status == IN_SERVICE and record.url is not None
    assert _invoke(record.url, [1, 2]) == [2, 4]
    assert [r.name for r in list_endpoints()] == ["doubler"]
    assert describe_endpoint("doubler").status == IN_SERVICE
    with pytest.raises(EndpointError, match="already exists"):
        create_endpoint("doubler", str(doubler))
    deleted = delete_endpoint("doubler")
    assert deleted.status == DELETED
    with pytest.raises(OSError):
        _invoke(record.url, [1])
    assert describe_endpoint("doubler").status == DELETED


@pytest.mark.slow
def test_crashed_server_is_failed_with_its_log_tail(home: Path, doubler: Path) -> None:
    record = create_endpoint("crashy", str(doubler), workers=1)
    assert record.pid is not None
    with Path(record.log_path).open("a") as log:
        log.write("last words before the crash\n")
    os.killpg(record.pid, signal.SIGKILL)
    described = describe_endpoint("crashy")
    deadline = time.monotonic() + 30
    while described.status == IN_SERVICE and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL is delivered asynchronously
        described = describe_endpoint("crashy")
    assert described.status == FAILED
    assert described.failure_reason is not None
    assert "last words before the crash" in described.failure_reason
    # A failed endpoint's name can be reused.
    again = create_endpoint("crashy", str(doubler), workers=1)
    assert again.status == IN_SERVICE


def test_server_that_cannot_start_is_failed(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "code").mkdir(parents=True)
    (broken / "code" / "inference.py").write_text("raise RuntimeError('no model here')\n")
    with pytest.raises(EndpointError, match="no model here"):
        create_endpoint("broken", str(broken), workers=1)
    record = describe_endpoint("broken")
    assert record.status == FAILED
    assert record.failure_reason is not None and "no model here" in record.failure_reason


@pytest.mark.slow
def test_a_mispacked_model_fails_the_endpoint_with_the_layout_explanation(
    home: Path, tmp_path: Path
) -> None:
    # The endpoint starts `sagepipe serve`: the reason is serve's one line, not a traceback.
    mispacked = tmp_path / "mispacked"
    mispacked.mkdir()
    (mispacked / "model.pt").write_bytes(b"w")
    (mispacked / "inference.py").write_text("def model_fn(model_dir):\n    return 1\n")

    with pytest.raises(EndpointError, match=r"inference\.py is at the top level"):
        create_endpoint("mispacked", str(mispacked), workers=1)

    reason = describe_endpoint("mispacked").failure_reason
    assert reason is not None
    assert "runs code/inference.py" in reason and "sagepipe package" in reason
    assert "Traceback" not in reason


def test_unknown_and_invalid_names(home: Path, doubler: Path) -> None:
    with pytest.raises(EndpointNotFoundError, match="sagepipe endpoints list"):
        describe_endpoint("nope")
    with pytest.raises(EndpointError, match="not an endpoint name"):
        create_endpoint("bad_name!", str(doubler))
