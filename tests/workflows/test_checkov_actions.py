"""checkov's GitHub Actions checks pass on .github (config: .checkov-actions.yaml)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = REPO_ROOT / ".checkov-actions.yaml"


def _checkov(*args: str) -> subprocess.CompletedProcess[str]:
    if not CHECKOV.exists():
        message = f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run `make deps`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [str(CHECKOV), "--config-file", str(CONFIG), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_github_actions_pass_checkov() -> None:
    result = _checkov("--output", "json")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    assert summary["passed"] > 0, "checkov checked nothing"
    assert summary["failed"] == 0
    for skipped in reports[0]["results"].get("skipped_checks", []):
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "").strip()
        assert reason, f"{skipped['check_id']} in {skipped['file_path']} is skipped without reason"


@pytest.mark.slow
def test_checkov_fails_a_bad_workflow(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request_target\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n',
        encoding="utf-8",
    )
    result = _checkov("--directory", str(tmp_path / ".github"), "--output", "json")
    assert result.returncode != 0
    failed = {check["check_id"] for check in json.loads(result.stdout)["results"]["failed_checks"]}
    assert {"CKV2_GHA_1", "CKV_GHA_2"} <= failed
