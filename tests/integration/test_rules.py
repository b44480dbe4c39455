"""Every PrometheusRule the platform renders passes `promtool check rules`, and the promtool unit
tests of every role (roles/<role>/files/promtool/*.test.yml, the one place they live) pass against
the rules as shipped: the one pytest that runs them all. Rule files are written by the one
mechanism, tests/support/promtool.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.promtool import (
    copy_tests,
    dashboard_queries,
    role_test_files,
    write_dashboard_query_files,
    write_rule_files,
)

pytestmark = pytest.mark.slow


def promtool_test_files() -> list[Path]:
    return role_test_files()


@pytest.fixture(scope="module")
def rules_dir(platform_render, tmp_path_factory) -> Path:
    """The shipped rule files with every promtool test file beside them (rule_files are
    relative to the test file)."""
    folder = tmp_path_factory.mktemp("promtool")
    written = write_rule_files([platform_render.shipped_dir], folder)
    assert set(written) == set(platform_render.shipped.groups), written
    copy_tests(folder)
    return folder


def test_the_shipped_rules_include_the_service_slo_rules(platform_render):
    names = set(platform_render.shipped.rule_files)
    assert "platform-argo-rollouts" in names, names
    assert any("model-api" in n for n in names), f"no model-api PrometheusRule rendered: {names}"


def test_every_rendered_rule_file_passes_promtool_check(platform_render, system_tools, rules_dir):
    files = [rules_dir / f"{name}.rules.yml" for name in platform_render.shipped.groups]
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


def test_every_dashboard_query_passes_promtool_check(platform_render, system_tools, tmp_path):
    """The dashboards each role ships (model_api, argo_rollouts): every panel query parses."""
    written = write_dashboard_query_files([platform_render.shipped_dir], tmp_path)
    assert {"grafana-dashboard-model-api-service", "grafana-dashboard-argo-rollouts-status"} <= set(
        written
    ), written
    assert all(dashboard_queries([platform_render.shipped_dir]).values())
    done = subprocess.run(
        [system_tools["promtool"], "check", "rules", *map(str, written.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
