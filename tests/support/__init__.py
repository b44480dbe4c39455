"""Test support for the suite, the demo (scripts/demo_canary.py) and Molecule verify steps.

Import it as ``tests.support.<module>`` (the repository root is on the path: pytest's
``pythonpath`` in pyproject.toml; ``python -m ...`` run from the repository root):

- ``canary``: the local canary stack (moved from scripts/canary_stack.py);
- ``argo_expr``: Argo Rollouts' expression evaluator and verdict rules (an emulation);
- ``aws``: the local inventory's AWS emulator (bin/aws-emulator) loaded as a module.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
