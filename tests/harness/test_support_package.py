"""Test support is one package (tests/support/), imported without editing sys.path.

The suite finds it through pytest's `pythonpath` (pyproject.toml); the demo
(`python -m scripts.demo_canary`), the canary CLI and the model_api Molecule verify step
(`python -m tests.support.argo_expr`, run in the repository root) through `python -m`."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from tests.support import REPO_ROOT

# Where the suite's code lives: none of it may put folders on sys.path by hand.
SEARCHED = [
    "tests",
    "service/tests",
    "scripts",
    "molecule",
    *[str(p.relative_to(REPO_ROOT)) for p in sorted((REPO_ROOT / "roles").glob("*/molecule"))],
]
PATH_EDIT = re.compile(r"\bsys\.path\.(insert|append|extend)\(|\bsys\.path\s*(\+=|=)|PYTHONPATH")
MODULES = [
    "process",
    "prometheus",
    "slack",
    "promtool",
    "render",
    "service",
    "argo_expr",
    "analysis",
    "canary",
    "aws",
    "playbook",
    "kube_api",
    "helm_stand_in",
    "external_secret",
]


def _python_files():
    for folder in SEARCHED:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.is_file() and (
                path.suffix in (".py", ".yml", ".yaml")
                or path.read_bytes()[:40].startswith(b"#!/usr/bin/env python")
            ):
                yield path


def test_no_file_edits_sys_path():
    this = __file__
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}"
        for path in _python_files()
        if str(path) != this
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if PATH_EDIT.search(line)
    ]
    assert found == []


def test_pytest_pythonpath_is_the_one_place():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    paths = config["tool"]["pytest"]["ini_options"]["pythonpath"]
    assert "." in paths  # tests.support.<concern>
    for path in paths:
        assert (REPO_ROOT / path).is_dir(), path


def test_test_support_is_not_in_scripts():
    """scripts/ holds product glue and the demo; the harness and the emulator moved out."""
    for gone in ("canary_stack.py", "argo_expr.py", "aws_emulator.py"):
        assert not (REPO_ROOT / "scripts" / gone).exists(), gone


@pytest.mark.parametrize("module", MODULES)
def test_each_concern_imports_alone_from_the_repository_root(module):
    """A fresh interpreter in the repository root (as `python -m` runs) imports each module on
    its own: nothing depends on a path set up by the suite's conftest."""
    done = subprocess.run(
        [sys.executable, "-c", f"import tests.support.{module}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def test_the_evaluator_cli_runs_as_molecule_verify_runs_it():
    """roles/model_api/molecule/default/verify.yml: `python -m tests.support.argo_expr` in the
    repository root prints the verdict."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.argo_expr", "result[0] >= 0.99", "[0.5]"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "Failed"), done.stderr


def test_the_demo_imports_as_make_runs_it():
    """`make demo-canary` runs `python -m scripts.demo_canary` in the repository root."""
    assert "python -m scripts.demo_canary" in (REPO_ROOT / "Makefile").read_text()
    done = subprocess.run(
        [sys.executable, "-c", "import scripts.demo_canary as d; assert callable(d.main)"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
