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


def emulated_client(endpoint: str, service: str, region: str = "eu-west-1"):
    """A boto3 client for the emulated AWS at endpoint, with the emulator's fake credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
