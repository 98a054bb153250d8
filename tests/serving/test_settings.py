"""Server settings: SageMaker's environment variables, the command line, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.serving.errors import ServingError
from sagepipe.serving.settings import WorkerSettings, settings_from_environment


def _settings(env: dict[str, str], **overrides: object) -> WorkerSettings:
    return settings_from_environment(
        env,
        model_dir=Path("/models/m"),
        code_dir=Path("/models/m/code"),
        program="inference.py",
        **overrides,  # type: ignore[arg-type]
    )


def test_the_model_environment_sets_the_limits() -> None:
    settings = _settings(
        {
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": "2",
            "SAGEMAKER_MAX_CONCURRENT_INVOCATIONS": "3",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": "7",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
            "SAGEMAKER_TS_BATCH_SIZE": "8",
            "SAGEMAKER_TS_MAX_BATCH_DELAY": "5",
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        }
    )

    assert settings.max_payload_bytes == 2 * 1024 * 1024
    assert settings.max_concurrent == 3
    assert settings.capacity == 3 + settings.max_queue
    assert settings.timeout_s == 7.0
    assert settings.workers == 1
    assert (settings.max_batch_size, settings.max_batch_delay_ms) == (8, 5.0)
    assert settings.default_accept == "text/csv"


def test_the_command_line_wins_over_the_environment() -> None:
    settings = _settings({"SAGEMAKER_TS_BATCH_SIZE": "8"}, max_batch_size=2, workers=3)

    assert (settings.max_batch_size, settings.workers) == (2, 3)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "six"}, "SAGEMAKER_MAX_PAYLOAD_IN_MB must be an integer"),
        ({"SAGEMAKER_TS_BATCH_SIZE": "0"}, "SAGEMAKER_TS_BATCH_SIZE must be at least 1"),
        ({"SAGEMAKER_MODEL_SERVER_TIMEOUT": "-1"}, "SAGEMAKER_MODEL_SERVER_TIMEOUT must be at"),
    ],
)
def test_a_bad_variable_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ServingError, match=message):
        _settings(env)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_batch_size": 0}, "max_batch_size must be at least 1, got 0"),
        ({"max_batch_delay_ms": -1.0}, "max_batch_delay_ms must be >= 0"),
        ({"port": 70000}, "port must be 0-65535"),
        ({"max_queue": -2}, "max_queue must be >= 0"),
    ],
)
def test_a_bad_command_line_value_is_named(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ServingError, match=message):
        _settings({}, **overrides)


def test_settings_round_trip_through_json() -> None:
    settings = _settings({"SAGEMAKER_MAX_CONCURRENT_INVOCATIONS": "4"}, port=9000)

    assert WorkerSettings.from_json(settings.to_json()) == settings
    no_code = WorkerSettings(model_dir=Path("/m"), code_dir=None)
    assert WorkerSettings.from_json(no_code.to_json()) == no_code


def test_the_http_limits_come_from_sagepipe_variables() -> None:
    defaults = _settings({})
    assert (defaults.max_header_bytes, defaults.max_connections) == (65536, 1024)
    assert (defaults.request_read_timeout_s, defaults.keep_alive_timeout_s) == (60.0, 60.0)

    settings = _settings(
        {
            "SAGEPIPE_MAX_HEADER_BYTES": "8192",
            "SAGEPIPE_REQUEST_READ_TIMEOUT": "5",
            "SAGEPIPE_KEEP_ALIVE_TIMEOUT": "7",
            "SAGEPIPE_MAX_CONNECTIONS": "50",
        }
    )
    assert (settings.max_header_bytes, settings.max_connections) == (8192, 50)
    assert (settings.request_read_timeout_s, settings.keep_alive_timeout_s) == (5.0, 7.0)
    with pytest.raises(ServingError, match="SAGEPIPE_MAX_HEADER_BYTES must be at least 1024"):
        _settings({"SAGEPIPE_MAX_HEADER_BYTES": "100"})
    with pytest.raises(ServingError, match="SAGEPIPE_KEEP_ALIVE_TIMEOUT must be an integer"):
        _settings({"SAGEPIPE_KEEP_ALIVE_TIMEOUT": "soon"})
