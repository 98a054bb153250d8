"""Limits over real HTTP: a full worker answers 503 with the reason, a handler past the
response timeout 504 (the worker is restarted and serving resumes), and SIGTERM lets
in-flight requests finish."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from .support import SLOW_HANDLERS, Server, json_body, running_server, write_code

pytestmark = pytest.mark.slow


def slow_model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    write_code(model, SLOW_HANDLERS)
    return model


def invoke_in_thread(
    server: Server, payload: dict[str, float], results: list[object]
) -> threading.Thread:
    def run() -> None:
        status, _, body = server.invoke(json_body(payload), "application/json")
        results.append((status, json.loads(body)))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_full_worker_answers_503_with_the_reason(tmp_path: Path) -> None:
    env = {"SAGEMAKER_MAX_CONCURRENT_INVOCATIONS": "1"}
    with running_server(slow_model(tmp_path), "--max-queue", "1", env=env) as server:
        results: list[object] = []
        threads = [invoke_in_thread(server, {"sleep": 1.5}, results)]
        time.sleep(0.3)
        threads.append(invoke_in_thread(server, {"sleep": 0}, results))  # queued
        time.sleep(0.3)
        status, _, body = server.invoke(json_body({}), "application/json")
        assert status == 503
        reason = json.loads(body)["message"]
        assert "SAGEMAKER_MAX_CONCURRENT_INVOCATIONS=1" in reason and "1 queued" in reason
        for thread in threads:
            thread.join()
        assert sorted(s for s, _ in results) == [200, 200]  # type: ignore[misc]
        assert server.invoke(json_body({}), "application/json")[0] == 200


def test_a_handler_past_the_timeout_is_504_and_serving_resumes(tmp_path: Path) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"}
    with running_server(slow_model(tmp_path), env=env) as server:
        started = time.monotonic()
        status, _, body = server.invoke(json_body({"sleep": 30}), "application/json")
        assert status == 504
        assert time.monotonic() - started < 10
        assert "did not answer within 1 s" in json.loads(body)["message"]
        server.wait_healthy()
        status, _, body = server.invoke(json_body({"sleep": 0}), "application/json")
        assert (status, json.loads(body)) == (200, {"sleep": 0})
        assert server.process.poll() is None


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    with running_server(slow_model(tmp_path)) as server:
        results: list[object] = []
        thread = invoke_in_thread(server, {"sleep": 1.5}, results)
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        thread.join()
        assert results == [(200, {"sleep": 1.5})]
        assert server.process.wait(30) == 0
        assert "stopped" in server.log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_group_stops_without_restarting_workers(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # Ctrl-C, `timeout` and `kill -TERM -PGID` signal the workers as well as the supervisor.
    with running_server(slow_model(tmp_path), workers=2, new_session=True) as server:
        server.wait_healthy()
        os.killpg(server.process.pid, sig)
        assert server.process.wait(30) == 0
        assert "stopped" in server.log
        assert "restarting" not in server.log
