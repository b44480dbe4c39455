"""`--check` on a fresh cluster reports what would change without failing (issue 20, finding 5).

The apply path of platform_k8s runs through ansible-playbook in check mode against a stand-in
API server that answers like a fresh cluster: discovery without the Argo Rollouts CRD, only the
default namespaces, and the refusals the real server gives (kubernetes.core 6.2.0 sends every
object as a server-side apply dry run, module_utils/k8s/core.py server_side_dry_run; the API
server answers 404 ``namespaces "<ns>" not found`` for an object in a missing namespace, and the
module fails "Failed to find exact match" for a kind nobody serves). Before, the ConfigMap and the
Rollout failed the run, and the Deployment wait (k8s_info waits for real in check mode) timed out.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import ClassVar

import pytest
import yaml

from tests.support import REPO_ROOT
from tests.support.kube_api import (
    TOKEN,
    JsonHandler,
    api_resource,
    cluster,
    discovery,
    status,
)
from tests.support.playbook import local_play, run_playbook, write_playbook

EXISTING = ["default", "kube-system"]


DISCOVERY = discovery(
    core=[
        api_resource("namespaces", "Namespace", False, "namespace"),
        api_resource("configmaps", "ConfigMap", True, "configmap"),
    ],
    groups={
        "apps/v1": [api_resource("deployments", "Deployment", True, "deployment")],
        "apiextensions.k8s.io/v1": [
            api_resource("customresourcedefinitions", "CustomResourceDefinition", False, "crd")
        ],
    },
)


def not_found(message):
    return status(404, "NotFound", message)


class FreshCluster(JsonHandler):
    writes: ClassVar[list] = []

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path in DISCOVERY:
            return self.send_json(200, DISCOVERY[path])
        if path == "/api/v1/namespaces":
            items = [{"metadata": {"name": n}} for n in EXISTING]
            return self.send_json(
                200, {"kind": "NamespaceList", "apiVersion": "v1", "items": items}
            )
        match = re.match(r"^/api/v1/namespaces/([^/]+)(?:/(\w+)/([^/]+))?$", path)
        if match:
            namespace, plural, name = match.groups()
            if plural is None and namespace in EXISTING:
                return self.send_json(200, {"kind": "Namespace", "metadata": {"name": namespace}})
            return self.send_json(
                *not_found(f'{plural or "namespaces"} "{name or namespace}" not found')
            )
        return self.send_json(
            *not_found(f"the server could not find the requested resource {path}")
        )

    def do_PATCH(self):
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        body = yaml.safe_load(self.rfile.read(int(self.headers["Content-Length"])))
        self.writes.append({"path": url.path, "dryRun": params.get("dryRun")})
        namespace = (body.get("metadata") or {}).get("namespace")
        if namespace and namespace not in EXISTING:
            return self.send_json(*not_found(f'namespaces "{namespace}" not found'))
        return self.send_json(200, body)


@pytest.fixture
def kubeconfig(tmp_path):
    FreshCluster.writes = []
    with cluster(tmp_path, FreshCluster, TOKEN) as path:
        yield path


def test_check_mode_on_a_fresh_cluster_reports_and_does_not_fail(tool_env, tmp_path, kubeconfig):
    objects = REPO_ROOT / "roles/platform_k8s/molecule/default/objects.k8s.yaml"
    play = local_play(
        roles=["platform_defaults"],
        vars={"platform_k8s_mode": "apply", "platform_kubeconfig": str(kubeconfig)},
        tasks=[
            {
                "ansible.builtin.include_role": {"name": "platform_k8s", "tasks_from": "apply"},
                "vars": {
                    "platform_k8s_component": "demo",
                    "platform_k8s_manifests": "{{ lookup('ansible.builtin.file', '"
                    + str(objects)
                    + "') | ansible.builtin.from_yaml_all | list }}",
                    "platform_k8s_wait": [
                        {
                            "api_version": "apps/v1",
                            "kind": "Deployment",
                            "name": "demo",
                            "namespace": "demo",
                            "condition": {"type": "Available", "status": "True"},
                            "timeout": 5,
                        }
                    ],
                },
            }
        ],
    )
    playbook = write_playbook(tmp_path / "play.yml", play)
    result = run_playbook(["--check", playbook], tool_env)
    output = " ".join((result.stdout + result.stderr).split())  # the callback wraps long lines
    assert result.returncode == 0, output[-5000:]
    assert "would create ConfigMap/settings in demo: namespace demo does not exist yet" in output
    assert (
        "would create Rollout/demo in demo: argoproj.io/v1alpha1 Rollout is not served yet"
        in output
    )
    # only what the server can take was sent, and only as a dry run
    assert FreshCluster.writes == [{"path": "/api/v1/namespaces/demo", "dryRun": "All"}]
