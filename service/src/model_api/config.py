"""Configuration from MODEL_API_* environment variables, validated once at start-up."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

PREFIX = "MODEL_API_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EVENT_LOOPS = ("uvloop", "asyncio")
T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "0.0.0.0"  # noqa: S104 - in a pod the service must listen on all interfaces
    port: int = 8080
    auth_enabled: bool = True
    api_keys_file: str = "/var/run/secrets/model-api/api-keys.json"
    max_batch: int = 64
    max_features: int = 64
    max_body_bytes: int = 262_144
    body_timeout_seconds: float = 10.0
    drain_seconds: float = 15.0
    shutdown_timeout_seconds: float = 10.0
    file_check_interval_seconds: float = 1.0
    log_level: str = "INFO"
    event_loop: str = "uvloop"
    access_log_enabled: bool = True
    fault_error_rate: float = 0.0
    fault_latency_ms: float = 0.0
    fault_file: str | None = None
    git_sha: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build a Config from the environment; raise ConfigError naming the bad variable."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        d = cls()  # the defaults (slots: class attributes are descriptors, not values)
        return cls(
            host=reader.get("HOST", str, d.host, _non_empty),
            port=reader.get("PORT", int, d.port, _between(1, 65535)),
            auth_enabled=reader.get("AUTH_ENABLED", _boolean, d.auth_enabled),
            api_keys_file=reader.get("API_KEYS_FILE", str, d.api_keys_file, _non_empty),
            max_batch=reader.get("MAX_BATCH", int, d.max_batch, _between(1, 10_000)),
            max_features=reader.get("MAX_FEATURES", int, d.max_features, _between(1, 10_000)),
            max_body_bytes=reader.get(
                "MAX_BODY_BYTES", int, d.max_body_bytes, _between(1024, 64 * 1024 * 1024)
            ),
            body_timeout_seconds=reader.get(
                "BODY_TIMEOUT_SECONDS", float, d.body_timeout_seconds, _between(0.1, 3600)
            ),
            drain_seconds=reader.get("DRAIN_SECONDS", float, d.drain_seconds, _between(0, 3600)),
            shutdown_timeout_seconds=reader.get(
                "SHUTDOWN_TIMEOUT_SECONDS", float, d.shutdown_timeout_seconds, _between(0, 3600)
            ),
            file_check_interval_seconds=reader.get(
                "FILE_CHECK_INTERVAL_SECONDS",
                float,
                d.file_check_interval_seconds,
                _between(0.01, 3600),
            ),
            log_level=reader.get("LOG_LEVEL", _log_level, d.log_level),
            event_loop=reader.get("EVENT_LOOP", _event_loop, d.event_loop),
            access_log_enabled=reader.get("ACCESS_LOG_ENABLED", _boolean, d.access_log_enabled),
            fault_error_rate=reader.get(
                "FAULT_ERROR_RATE", float, d.fault_error_rate, _between(0, 1)
            ),
            fault_latency_ms=reader.get(
                "FAULT_LATENCY_MS", float, d.fault_latency_ms, _between(0, 60_000)
            ),
            fault_file=reader.get("FAULT_FILE", str, None, _non_empty),
            git_sha=env.get("GIT_SHA") or env.get(PREFIX + "GIT_SHA") or None,
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(
        self,
        name: str,
        parse: Callable[[str], T],
        default: T,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        var = PREFIX + name
        raw = self._env.get(var)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = parse(raw.strip())
        except ValueError as exc:
            raise ConfigError(f"{var}={raw!r} is invalid: {_reason(exc, parse)}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{var}={raw!r} is invalid: must be a finite number")
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"{var}={raw!r} is invalid: {problem}")
        return value


def _reason(exc: ValueError, parse: Callable[[str], object]) -> str:
    if parse is int:
        return "must be an integer"
    if parse is float:
        return "must be a number"
    return str(exc)


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be a boolean (true/false, 1/0, yes/no, on/off)")


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _event_loop(raw: str) -> str:
    loop = raw.lower()
    if loop not in EVENT_LOOPS:
        raise ValueError(f"must be one of {', '.join(EVENT_LOOPS)}")
    return loop


def _non_empty(value: str) -> str | None:
    return None if value else "must not be empty"


def _between(low: float, high: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {low} and {high}"

    return check
