"""Fixtures for the model_api tests (helpers live in model_api_testing.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from model_api_testing import KEY, OTHER_KEY, SyncApi, write_keys

from model_api.app import create_app
from model_api.config import Config


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: slow test (subprocesses, image builds)")
    config.addinivalue_line("markers", "docker: needs a container engine")


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys.json"
    write_keys(path, KEY, OTHER_KEY)
    return path


@pytest.fixture
def make_api(keys_file: Path) -> Iterator[Callable[..., SyncApi]]:
    """Build a SyncApi from Config overrides; every one built is closed at the end."""
    made: list[SyncApi] = []

    def make(**overrides: Any) -> SyncApi:
        fields = {"api_keys_file": str(keys_file), "file_check_interval_seconds": 0.05}
        fields.update(overrides)
        api = SyncApi(create_app(Config(**fields)))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., SyncApi]) -> SyncApi:
    return make_api()
