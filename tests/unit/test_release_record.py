"""Teardown removes the Helm releases platform_k8s recorded when it applied them
(platform_release_record), last installed first, and none when nothing was recorded; it no longer
keeps a list of release names of its own (issue 18). The expression is the one in
playbooks/teardown.yml, rendered by ansible-core's Templar as the play evaluates it.
"""

from __future__ import annotations

import json

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

from tests.support import REPO_ROOT

PLAY = yaml.safe_load((REPO_ROOT / "playbooks/teardown.yml").read_text())[0]
EXPRESSION = PLAY["vars"]["teardown_helm_releases"]
init_plugin_loader()  # lookups by their ansible.builtin name, as in a play


def releases(record):
    templar = Templar(loader=DataLoader(), variables={"platform_release_record": str(record)})
    return templar.template(trust_as_template(EXPRESSION))


def test_teardown_removes_the_recorded_releases_in_reverse_order(tmp_path):
    record = tmp_path / "releases.json"
    applied = [
        {"name": "aws-load-balancer-controller", "namespace": "kube-system"},
        {"name": "kube-prometheus-stack", "namespace": "monitoring"},
        {"name": "demo", "namespace": "demo"},
    ]
    record.write_text(json.dumps(applied))
    assert releases(record) == list(reversed(applied))


def test_teardown_removes_no_release_when_none_was_recorded(tmp_path):
    assert releases(tmp_path / "releases.json") == []


def test_teardown_names_no_release_itself():
    text = (REPO_ROOT / "playbooks/teardown.yml").read_text() + (
        REPO_ROOT / "playbooks/tasks/teardown_platform.yml"
    ).read_text()
    for name in ("kube-prometheus-stack", "argo-rollouts", "cert-manager", "metrics-server"):
        assert name not in text, f"teardown names the release {name} instead of reading the record"
