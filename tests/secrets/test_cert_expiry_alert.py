"""The certificate alerts the TLS design relies on (roles/cert_manager, PrometheusRule
cert-manager-certificates) pass `promtool check rules` and their promtool unit tests
(roles/cert_manager/files/promtool/), with series shaped as cert-manager v1.21.1 exports them
(internal/collectors/certificate_collector.go; pkg/metrics/certificates_test.go) and as Prometheus
stores them through the chart's ServiceMonitor (honorLabels false: exported_namespace).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

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
    out = base / "promtool"
    out.mkdir()
    name = rules[0]["metadata"]["name"]
    (out / f"{name}.rules.yml").write_text(yaml.safe_dump(rules[0]["spec"], sort_keys=False))
    for test in (repo_root / "roles/cert_manager/files/promtool").glob("*.yml"):
        shutil.copy(test, out / test.name)
    return out, rules[0]


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: install Debian's prometheus (scripts/check-tools)")
    return path


def test_the_rule_is_selected_by_prometheus(rules_dir):
    _, rule = rules_dir
    assert rule["metadata"]["labels"]["monitoring.ml-platform.io/enabled"] == "true"
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"CertificateExpiresSoon", "CertificateExpiryCritical", "CertificateNotReady"} <= alerts


def test_promtool_check_and_unit_tests(rules_dir):
    folder, _ = rules_dir
    check = subprocess.run(
        [promtool(), "check", "rules", "cert-manager-certificates.rules.yml"],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted(p.name for p in folder.glob("*.test.yml"))
    assert tests, "no promtool unit test in roles/cert_manager/files/promtool"
    done = subprocess.run(
        [promtool(), "test", "rules", *tests],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
