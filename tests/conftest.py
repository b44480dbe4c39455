"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "crd-schemas"

# Project module_utils and library importable as plain modules in unit tests.
for extra in (REPO_ROOT / "module_utils", REPO_ROOT / "library", REPO_ROOT / "scripts"):
    sys.path.insert(0, str(extra))


def crd_schema_location() -> str:
    """The schema location tests use: the environment's, else the shared folder beside the repo."""
    return os.environ.get("PLATFORM_CRD_SCHEMA_LOCATION") or str(SHARED_SCHEMAS)


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
