"""The lint gate: the same linters pre-commit runs, each one a test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def shell_scripts():
    candidates = [ROOT / ".ci" / "run", *(ROOT / "scripts").iterdir()]
    return [
        str(p.relative_to(ROOT))
        for p in candidates
        if p.is_file() and p.read_text(errors="ignore").startswith("#!/usr/bin/env bash")
    ]


LINTERS = {
    "yamllint": ["yamllint", "--strict", "."],
    "ansible-lint": ["ansible-lint", "--offline", "--profile", "production", "-q"],
    "ruff-check": ["ruff", "check", ".", "bin/validate-manifests", "bin/aws-emulator"],
    "ruff-format": ["ruff", "format", "--check", ".", "bin/validate-manifests", "bin/aws-emulator"],
    "terraform-fmt": ["terraform", "fmt", "-check", "-recursive", "-diff", "terraform"],
    "hadolint": ["hadolint", "Dockerfile"],
}


@pytest.mark.parametrize("name", sorted(LINTERS))
def test_linter_passes(name, tool_env):
    command = LINTERS[name]
    if name == "terraform-fmt" and not (ROOT / "terraform").is_dir():
        pytest.skip("no terraform/ folder yet")
    if name == "hadolint" and not (ROOT / "Dockerfile").is_file():
        pytest.skip("no Dockerfile yet")
    if shutil.which(command[0], path=tool_env["PATH"]) is None:
        pytest.fail(f"{command[0]} is not installed: run `make deps` (or scripts/check-tools)")
    result = subprocess.run(
        command, cwd=ROOT, env=tool_env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"


def test_shellcheck_passes_on_every_shell_script(tool_env):
    scripts = shell_scripts()
    assert ".ci/run" in scripts
    result = subprocess.run(
        ["shellcheck", "--severity=style", *scripts],
        cwd=ROOT,
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
