"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, VENV_BIN, crd_schema_location

# module_utils/ and library/ are importable as plain modules (pyproject.toml: pytest pythonpath).


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    """Environment for subprocesses: the project's .venv first on PATH, schemas located."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PLATFORM_CRD_SCHEMA_LOCATION"] = crd_schema_location()
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env["PY_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    return env
