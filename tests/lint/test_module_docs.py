"""Every module of the project documents itself: ansible-doc renders it, with every option of its
argument spec documented (shared connection options come from doc_fragments/platform_k8s.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from platform_k8s import K8S_CONNECTION_ARGS

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "library").glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_the_module(module, tool_env):
    result = subprocess.run(
        ["ansible-doc", "--json", "-M", "library", module],
        cwd=ROOT,
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[module]["doc"]
    assert doc["short_description"] and doc["options"]
    source = (ROOT / "library" / f"{module}.py").read_text()
    shared = set(K8S_CONNECTION_ARGS) if "K8S_CONNECTION_ARGS" in source else set()
    for option in doc["options"]:
        in_spec = f"{option}=" in source or f'"{option}"' in source or option in shared
        assert in_spec, f"{option} is documented but not in the argument spec"
