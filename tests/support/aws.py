"""The local inventory's AWS emulator, bin/aws-emulator (a product CLI), as a module."""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

from tests.support import REPO_ROOT

EMULATOR = REPO_ROOT / "bin" / "aws-emulator"


@functools.cache
def load_emulator() -> ModuleType:
    """bin/aws-emulator imported once (its file name has no .py, so through its path)."""
    loader = importlib.machinery.SourceFileLoader("aws_emulator", str(EMULATOR))
    spec = importlib.util.spec_from_loader("aws_emulator", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["aws_emulator"] = module
    loader.exec_module(module)
    return module


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
