"""Unit tests of the project's own modules.

The modules import their shared code as ``ansible.module_utils.<name>`` (how Ansible ships it to
the target). Register every file of module_utils/ under that name so ``import argo_rollout``
works in-process, and give tests a helper that runs a module's main() with arguments.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import ansible.module_utils
import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = REPO_ROOT / "module_utils"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# The same module object under both names (plain, from tests/conftest.py's sys.path, and
# ansible.module_utils.<name>), so exception classes and patches are shared by tests and modules.
# platform_k8s first: other helpers import it by its Ansible name.
_ORDER = [
    "platform_k8s",
    *sorted(
        p.stem for p in MODULE_UTILS.glob("*.py") if p.stem not in ("platform_k8s", "__init__")
    ),
]
for _stem in _ORDER:
    _module = sys.modules.get(f"ansible.module_utils.{_stem}") or importlib.import_module(_stem)
    sys.modules.setdefault(f"ansible.module_utils.{_stem}", _module)
    setattr(ansible.module_utils, _stem, sys.modules[f"ansible.module_utils.{_stem}"])


class ModuleExit(Exception):
    """exit_json was called; .result holds its keyword arguments."""

    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


class ModuleFail(Exception):
    """fail_json was called; .result holds its keyword arguments."""

    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise ModuleFail(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args, check_mode=False) -> (failed: bool, result dict)."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def run(main, args, check_mode=False):
        payload = dict(args)
        if check_mode:
            payload["_ansible_check_mode"] = True
        monkeypatch.setattr(
            basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
        )
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            main()
        except ModuleExit as exc:
            return False, exc.result
        except ModuleFail as exc:
            return True, exc.result
        raise AssertionError("the module returned without exit_json or fail_json")

    return run
