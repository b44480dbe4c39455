"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from platform_test_support import REPO_ROOT, VENV_BIN, crd_schema_location

# Project module_utils and library importable as plain modules in unit tests.
for extra in (REPO_ROOT / "module_utils", REPO_ROOT / "library", REPO_ROOT / "scripts"):
    sys.path.insert(0, str(extra))


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
