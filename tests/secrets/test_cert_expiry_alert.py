"""The certificate alerts the TLS design relies on (roles/cert_manager, PrometheusRule
cert-manager-certificates) render with the label Prometheus selects. Their `promtool check rules`
and promtool unit tests (roles/cert_manager/files/promtool/, series shaped as cert-manager v1.21.1
exports them: internal/collectors/certificate_collector.go; pkg/metrics/certificates_test.go, and as
Prometheus stores them through the chart's ServiceMonitor, honorLabels false: exported_namespace)
run with every role's in tests/integration/test_rules.py, the one pytest for promtool tests; this
file checks that they exist and load this rule.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.support.promtool import role_test_files

pytestmark = pytest.mark.slow

PLAY = """
- name: Render cert-manager
  hosts: localhost
  gather_facts: false
  vars_files: [{fixture}]
  vars:
    platform_render_dir: {out}
  roles: [platform_defaults, cert_manager]
"""


@pytest.fixture(scope="module")
def rules_dir(repo_root, tool_env, tmp_path_factory):
    base = tmp_path_factory.mktemp("cert-alerts")
    play = base / "render.yml"
    play.write_text(
        PLAY.format(fixture=repo_root / "molecule/shared/platform_infra.yml", out=base / "build")
    )
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(repo_root / "molecule/shared/inventory.yml"), str(play)],
        cwd=repo_root,
        env=dict(tool_env, ANSIBLE_NOCOLOR="1", MOLECULE_EPHEMERAL_DIRECTORY=str(base)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    manifests = sorted((base / "build" / "cert-manager-alerts" / "manifests").glob("*.yaml"))
    rules = [d for p in manifests for d in yaml.safe_load_all(p.read_text()) if d]
    assert [r["kind"] for r in rules] == ["PrometheusRule"], manifests
    return base, rules[0]


def test_the_rule_is_selected_by_prometheus(rules_dir):
    _, rule = rules_dir
    assert rule["metadata"]["labels"]["monitoring.ml-platform.io/enabled"] == "true"
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"CertificateExpiresSoon", "CertificateExpiryCritical", "CertificateNotReady"} <= alerts


def test_the_role_keeps_promtool_tests_of_this_rule(rules_dir):
    _, rule = rules_dir
    tests = role_test_files("cert_manager")
    assert tests, "no promtool unit test in roles/cert_manager/files/promtool"
    loaded = {f for t in tests for f in yaml.safe_load(t.read_text()).get("rule_files", [])}
    assert f"{rule['metadata']['name']}.rules.yml" in loaded
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    tested = {
        a["alertname"]
        for t in tests
        for case in yaml.safe_load(t.read_text()).get("tests", [])
        for a in case.get("alert_rule_test", [])
    }
    assert alerts <= tested, f"alerts without a promtool test: {alerts - tested}"
