"""Renovate is the one dependency-update tool (docs/ci-cd.md says why); its config covers every
ecosystem the repository pins, and its regex manager finds the chart versions in role defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((REPO_ROOT / ".github" / "renovate.json").read_text(encoding="utf-8"))
CHART_VERSION = re.compile(r"^\s*(?P<name>[a-z0-9_]+_chart_version):", re.M)


def _python_regex(javascript: str) -> re.Pattern[str]:
    """Renovate's patterns are JavaScript regexes; named groups are the only syntax difference."""
    return re.compile(javascript.replace("(?<", "(?P<"))


def _chart_manager() -> dict:
    managers = [
        manager
        for manager in CONFIG.get("customManagers", [])
        if manager.get("customType") == "regex" and "helm" in json.dumps(manager)
    ]
    assert len(managers) == 1, "expected one regex manager for Helm chart versions"
    return managers[0]


def test_every_ecosystem_is_covered() -> None:
    managers = set(CONFIG["enabledManagers"])
    assert {
        "github-actions",
        "pip_requirements",
        "npm",
        "terraform",
        "dockerfile",
        "custom.regex",
    } <= managers


def test_there_is_no_second_update_tool() -> None:
    assert not (REPO_ROOT / ".github" / "dependabot.yml").exists()
    assert not (REPO_ROOT / ".github" / "dependabot.yaml").exists()


@pytest.mark.parametrize(
    "path",
    ["requirements.in", "requirements.txt", "bench/requirements.txt", "service/constraints.txt"],
)
def test_pip_files_are_matched(path: str) -> None:
    patterns = [
        _python_regex(pattern.strip("/"))
        for pattern in CONFIG["pip_requirements"]["managerFilePatterns"]
    ]
    assert any(pattern.search(path) for pattern in patterns)


SAMPLE = """\
# Chart
# renovate: datasource=helm depName=argo-rollouts registryUrl=https://argoproj.github.io/argo-helm
argo_rollouts_chart_version: "2.39.1"
"""


def test_chart_regex_extracts_name_registry_and_version() -> None:
    manager = _chart_manager()
    (file_pattern,) = manager["managerFilePatterns"]
    assert _python_regex(file_pattern.strip("/")).search("roles/argo_rollouts/defaults/main.yml")
    (match_string,) = manager["matchStrings"]
    match = _python_regex(match_string).search(SAMPLE)
    assert match is not None
    assert match.group("depName") == "argo-rollouts"
    assert match.group("registryUrl") == "https://argoproj.github.io/argo-helm"
    assert match.group("currentValue") == "2.39.1"


def test_chart_regex_needs_the_comment_directly_above() -> None:
    (match_string,) = _chart_manager()["matchStrings"]
    separated = SAMPLE.replace("\nargo_rollouts", "\nother: 1\nargo_rollouts")
    assert _python_regex(match_string).search(separated) is None


DEFAULTS = sorted(
    path
    for path in REPO_ROOT.glob("roles/*/defaults/main.yml")
    if CHART_VERSION.search(path.read_text(encoding="utf-8"))
)


def test_the_add_on_roles_pin_their_charts() -> None:
    assert len(DEFAULTS) >= 6, [p.parts[-3] for p in DEFAULTS]


@pytest.mark.parametrize("path", DEFAULTS, ids=lambda path: path.parts[-3])
def test_every_chart_version_in_role_defaults_is_annotated(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    names = CHART_VERSION.findall(text)
    (match_string,) = _chart_manager()["matchStrings"]
    found = {
        match.group(0).split("\n")[-1].split(":")[0].strip()
        for match in _python_regex(match_string).finditer(text)
    }
    missing = sorted(set(names) - found)
    assert not missing, (
        f"{path}: add `# renovate: datasource=helm depName=<chart> registryUrl=<url>` directly "
        f"above {', '.join(missing)}"
    )


def test_the_trivy_release_input_is_updated_by_renovate() -> None:
    (manager,) = [
        m for m in CONFIG["customManagers"] if "github-releases" in json.dumps(m["matchStrings"])
    ]
    (file_pattern,) = manager["managerFilePatterns"]
    assert _python_regex(file_pattern.strip("/")).search(".github/workflows/image.yml")
    (match_string,) = manager["matchStrings"]
    text = (REPO_ROOT / ".github" / "workflows" / "image.yml").read_text(encoding="utf-8")
    found = [m.group("currentValue") for m in _python_regex(match_string).finditer(text)]
    versions = re.findall(r"^\s*version:\s*(v\S+)", text, re.M)
    assert found and sorted(found) == sorted(versions), (found, versions)


def test_scanner_updates_wait_for_approval() -> None:
    rules = [r for r in CONFIG["packageRules"] if r.get("dependencyDashboardApproval")]
    names = {name for rule in rules for name in rule.get("matchPackageNames", [])}
    assert {"aquasecurity/trivy-action", "aquasecurity/trivy"} <= names
