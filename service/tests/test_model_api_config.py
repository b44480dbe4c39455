"""Configuration parsing and start-up failures of the console entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from model_api_testing import console_script

from model_api.config import Config, ConfigError
from model_api.model import LogisticModel, ModelError, load_packaged_model
from model_api.watched import FileFormatError, parse_api_keys, parse_fault_settings


def test_defaults() -> None:
    config = Config.from_env({})
    assert config == Config()
    assert config.port == 8080
    assert config.auth_enabled is True
    assert config.drain_seconds == 15.0
    assert config.fault_error_rate == 0.0
    assert config.fault_latency_ms == 0.0


def test_values_are_read() -> None:
    config = Config.from_env(
        {
            "MODEL_API_PORT": "9000",
            "MODEL_API_AUTH_ENABLED": "false",
            "MODEL_API_MAX_BATCH": "10",
            "MODEL_API_DRAIN_SECONDS": "2.5",
            "MODEL_API_BODY_TIMEOUT_SECONDS": "0.5",
            "MODEL_API_EVENT_LOOP": "AsyncIO",
            "MODEL_API_LOG_LEVEL": "debug",
            "MODEL_API_FAULT_ERROR_RATE": "0.25",
            "MODEL_API_FAULT_LATENCY_MS": "100",
            "MODEL_API_FAULT_FILE": "/tmp/fault.json",
            "GIT_SHA": "deadbeef",
        }
    )
    assert (config.port, config.auth_enabled, config.max_batch) == (9000, False, 10)
    assert (config.drain_seconds, config.log_level) == (2.5, "DEBUG")
    assert config.body_timeout_seconds == 0.5
    assert (config.event_loop, Config().event_loop) == ("asyncio", "uvloop")
    assert (config.fault_error_rate, config.fault_latency_ms) == (0.25, 100.0)
    assert (config.fault_file, config.git_sha) == ("/tmp/fault.json", "deadbeef")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MODEL_API_PORT", "http"),
        ("MODEL_API_PORT", "70000"),
        ("MODEL_API_AUTH_ENABLED", "maybe"),
        ("MODEL_API_MAX_BATCH", "0"),
        ("MODEL_API_MAX_FEATURES", "1.5"),
        ("MODEL_API_MAX_BODY_BYTES", "10"),
        ("MODEL_API_DRAIN_SECONDS", "-1"),
        ("MODEL_API_BODY_TIMEOUT_SECONDS", "0"),
        ("MODEL_API_EVENT_LOOP", "tokio"),
        ("MODEL_API_DRAIN_SECONDS", "nan"),
        ("MODEL_API_LOG_LEVEL", "LOUD"),
        ("MODEL_API_FAULT_ERROR_RATE", "1.5"),
        ("MODEL_API_FAULT_ERROR_RATE", "lots"),
        ("MODEL_API_FAULT_LATENCY_MS", "-5"),
        ("MODEL_API_FAULT_LATENCY_MS", "inf"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_key_file_format() -> None:
    assert parse_api_keys('{"keys": ["a", " b "]}') == (b"a", b"b")
    for bad in ["", "[]", '{"keys": []}', '{"keys": [1]}', '{"keys": [""]}', '{"key": "a"}']:
        with pytest.raises(FileFormatError):
            parse_api_keys(bad)


def test_fault_file_format() -> None:
    settings = parse_fault_settings('{"error_rate": 0.5, "latency_ms": 20}')
    assert (settings.error_rate, settings.latency_ms) == (0.5, 20.0)
    assert not parse_fault_settings("{}").active
    for bad in [
        "[]",
        '{"error_rate": 2}',
        '{"error_rate": true}',
        '{"latency_ms": -1}',
        '{"x": 1}',
    ]:
        with pytest.raises(FileFormatError):
            parse_fault_settings(bad)


def test_packaged_model_is_valid() -> None:
    model = load_packaged_model()
    assert model.version and model.name
    assert model.n_features == len(model.feature_names) == 8
    assert model.predict([[0.0] * 8])[0] == pytest.approx(1 / (1 + 2.718281828459045**0.35))


def test_malformed_model_is_rejected() -> None:
    with pytest.raises(ModelError):
        LogisticModel.from_dict({"format": "logistic-regression/v1", "weights": []})
    with pytest.raises(ModelError):
        LogisticModel.from_dict({"format": "other"})


def run_entry_point(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script()],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MODEL_API_PORT": "not-a-port"}, "MODEL_API_PORT"),
        ({"MODEL_API_FAULT_ERROR_RATE": "2"}, "MODEL_API_FAULT_ERROR_RATE"),
        ({"MODEL_API_API_KEYS_FILE": "/nonexistent/keys.json"}, "/nonexistent/keys.json"),
    ],
)
def test_entry_point_exits_non_zero_with_a_clear_error(env: dict[str, str], expected: str) -> None:
    result = run_entry_point(env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_entry_point_rejects_an_invalid_fault_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": ["k"]}))
    fault = tmp_path / "fault.json"
    fault.write_text('{"error_rate": 3}')
    result = run_entry_point(
        {"MODEL_API_API_KEYS_FILE": str(keys), "MODEL_API_FAULT_FILE": str(fault)}
    )
    assert result.returncode == 2
    assert "error_rate" in result.stderr
