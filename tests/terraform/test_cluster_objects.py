"""The cluster-level objects of issue 14 (playbooks/tasks/cluster_objects.yml), rendered.

The deploy role's Kubernetes group must be able to apply exactly what deploy.yml applies: the
rules are checked against the kinds found in the model_api role's rendered objects, not against a
hand list. The default StorageClass must be the encrypted gp3 class monitoring's claims use.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

pytestmark = pytest.mark.slow

APPLY_VERBS = {"get", "list", "watch", "create", "patch", "update"}
FIXTURE = REPO / "molecule" / "shared" / "platform_infra.yml"


def _plural(kind: str) -> str:
    """Kubernetes' resource name for a kind (the API conventions' lower-case plural)."""
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith("s"):
        return lower + "es"
    return lower + "s"


def _load(folder: Path) -> list[dict]:
    return [
        doc
        for path in sorted(folder.glob("manifests/*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cluster-objects")
    playbook = out / "render.yml"
    playbook.write_text(
        textwrap.dedent(
            f"""\
            - name: Render model_api and the cluster-level objects
              hosts: localhost
              gather_facts: false
              vars_files: [{FIXTURE}]
              vars:
                model_api_image_tag: "1.4.0"
                platform_k8s_mode: render
                platform_render_dir: {out}
                platform_cluster_provider: eks
              roles: [platform_defaults, model_api, monitoring]
              tasks:
                - name: Render the cluster-level objects
                  ansible.builtin.include_tasks: {REPO}/playbooks/tasks/cluster_objects.yml
            """
        )
    )
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out


def test_deploy_group_can_apply_exactly_what_deploy_applies(rendered):
    model_api = _load(rendered / "model-api")
    platform = _load(rendered / "platform-cluster")
    namespace = next(d["metadata"]["name"] for d in model_api if d["kind"] == "Namespace")
    needed = {
        (d["apiVersion"].rpartition("/")[0], _plural(d["kind"]))
        for d in model_api
        if d["kind"] != "Namespace"
    }
    assert all(
        d["metadata"].get("namespace") == namespace for d in model_api if d["kind"] != "Namespace"
    )

    role = next(d for d in platform if d["kind"] == "Role")
    assert role["metadata"]["namespace"] == namespace
    granted = {
        (group, resource)
        for rule in role["rules"]
        if APPLY_VERBS <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert granted == needed, f"missing {needed - granted}, more than needed {granted - needed}"
    assert not any("delete" in r["verbs"] or "*" in r["verbs"] for r in role["rules"])

    cluster_role = next(d for d in platform if d["kind"] == "ClusterRole")
    assert cluster_role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["namespaces"],
            "resourceNames": [namespace],
            "verbs": ["get", "patch"],
        }
    ]


def test_bindings_name_the_deploy_group_of_the_terraform_output(rendered):
    platform = _load(rendered / "platform-cluster")
    group = yaml.safe_load(FIXTURE.read_text())["platform_infra"].get(
        "deploy_kubernetes_group", "ml-platform:deployers"
    )
    bindings = [d for d in platform if d["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert len(bindings) == 2
    for binding in bindings:
        assert binding["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
        ]


def test_default_storage_class_is_encrypted_gp3_waiting_for_the_consumer(rendered):
    platform = _load(rendered / "platform-cluster")
    kms_key_arn = yaml.safe_load(FIXTURE.read_text())["platform_infra"]["kms_key_arn"]
    (storage_class,) = [d for d in platform if d["kind"] == "StorageClass"]
    assert storage_class["metadata"]["name"] == "gp3"  # monitoring_prometheus_storage_class
    assert storage_class["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"
    }
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["parameters"]["type"] == "gp3"
    assert storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["parameters"]["kmsKeyId"] == kms_key_arn


def test_deploy_group_may_ask_prometheus_through_the_proxy_deploy_uses(rendered):
    """deploy_analysis.yml asks Prometheus at model_api_prometheus_address through the service
    proxy; the monitoring role's Role must grant get on exactly that proxy name to the group."""
    from prometheus import service_proxy_path  # module_utils/prometheus.py

    address = yaml.safe_load((REPO / "roles/model_api/defaults/main.yml").read_text())[
        "model_api_prometheus_address"
    ]
    match = re.match(
        r"^(https?)://([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.[a-z0-9.-]+)?:([0-9]+)/?$", address
    )
    assert match, address
    scheme, name, namespace, port = match.groups()
    proxy_name = service_proxy_path(namespace, name, port, scheme).split("/")[-2]

    monitoring = _load(rendered / "monitoring")
    (role,) = [d for d in monitoring if d["kind"] == "Role" and "deployer" in d["metadata"]["name"]]
    assert role["metadata"]["namespace"] == namespace
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["services/proxy"],
            "resourceNames": role["rules"][0]["resourceNames"],
            "verbs": ["get"],
        }
    ]
    assert proxy_name in role["rules"][0]["resourceNames"]
    (binding,) = [d for d in monitoring if d["kind"] == "RoleBinding"]
    group = yaml.safe_load(FIXTURE.read_text())["platform_infra"].get(
        "deploy_kubernetes_group", "ml-platform:deployers"
    )
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
    ]
