"""Paths and settings shared by the suite's test modules (import it; never import `conftest`,
whose module name several folders share)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "crd-schemas"


def crd_schema_location() -> str:
    """The schema location tests use: the environment's, else the shared folder beside the repo."""
    return os.environ.get("PLATFORM_CRD_SCHEMA_LOCATION") or str(SHARED_SCHEMAS)
