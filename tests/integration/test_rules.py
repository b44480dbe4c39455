"""Every PrometheusRule the platform renders passes `promtool check rules` and is covered by
`promtool test rules` unit tests (roles/*/files/promtool/*.yml, or tests/integration/promtool/
for rules whose role ships none)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


def promtool_test_files() -> list[Path]:
    return sorted(REPO_ROOT.glob("roles/*/files/promtool/*.yml")) + sorted(
        (HERE / "promtool").glob("*.yml")
    )


@pytest.fixture(scope="module")
def rules_dir(platform_render, tmp_path_factory) -> Path:
    """The shipped rule files with every promtool test file beside them (rule_files are
    relative to the test file)."""
    folder = tmp_path_factory.mktemp("promtool")
    for path in platform_render.shipped.rule_files.values():
        shutil.copy(path, folder / path.name)
    for test in promtool_test_files():
        target = folder / test.name
        assert not target.exists(), f"two promtool test files are named {test.name}"
        shutil.copy(test, target)
    return folder


def test_the_shipped_rules_include_the_service_slo_rules(platform_render):
    names = set(platform_render.shipped.rule_files)
    assert "platform-argo-rollouts" in names, names
    assert any("model-api" in n for n in names), f"no model-api PrometheusRule rendered: {names}"


def test_every_rendered_rule_file_passes_promtool_check(platform_render, system_tools, rules_dir):
    files = [rules_dir / p.name for p in platform_render.shipped.rule_files.values()]
    done = subprocess.run(
        [system_tools["promtool"], "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_pass(system_tools, rules_dir):
    tests = [rules_dir / p.name for p in promtool_test_files()]
    assert tests, "no promtool unit tests found"
    done = subprocess.run(
        [system_tools["promtool"], "test", "rules", *map(str, tests)],
        cwd=rules_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def covered_rules(test_file: Path) -> tuple[set[str], set[str], str]:
    """(rule files loaded, alert names tested, all promql expressions tested) of a test file."""
    doc = yaml.safe_load(test_file.read_text())
    files = {Path(f).name for f in doc.get("rule_files", [])}
    alerts, exprs = set(), []
    for case in doc.get("tests", []):
        alerts |= {t["alertname"] for t in case.get("alert_rule_test", [])}
        exprs += [t["expr"] for t in case.get("promql_expr_test", [])]
    return files, alerts, "\n".join(exprs)


def test_every_shipped_rule_group_has_a_unit_test(platform_render):
    coverage = [covered_rules(t) for t in promtool_test_files()]
    uncovered = []
    for rule_name, groups in platform_render.shipped.groups.items():
        file_name = f"{rule_name}.rules.yml"
        for group in groups:
            alerts = {r["alert"] for r in group["rules"] if "alert" in r}
            records = {r["record"] for r in group["rules"] if "record" in r}
            covered = any(
                file_name in files and (alerts & tested or any(r in exprs for r in records))
                for files, tested, exprs in coverage
            )
            if not covered:
                uncovered.append(f"{rule_name}/{group['name']}")
    assert not uncovered, f"rule groups without a promtool unit test: {uncovered}"
