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
