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

import http.server
import json
import re
import subprocess
import threading
import urllib.parse
from typing import ClassVar

import pytest
import yaml

from tests.support import REPO_ROOT

TOKEN = "t0ken"
EXISTING = ["default", "kube-system"]


def resource(name, kind, namespaced, singular):
    return {
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    }


DISCOVERY = {
    "/version": {"major": "1", "minor": "33", "gitVersion": "v1.33.0"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"},
            }
            for group in ("apps", "apiextensions.k8s.io")
        ],
    },
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            resource("namespaces", "Namespace", False, "namespace"),
            resource("configmaps", "ConfigMap", True, "configmap"),
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [resource("deployments", "Deployment", True, "deployment")],
    },
    "/apis/apiextensions.k8s.io/v1": {
        "kind": "APIResourceList",
        "groupVersion": "apiextensions.k8s.io/v1",
        "resources": [
            resource("customresourcedefinitions", "CustomResourceDefinition", False, "crd")
        ],
    },
}


def not_found(message):
    return 404, {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "NotFound",
        "code": 404,
    }


class FreshCluster(http.server.BaseHTTPRequestHandler):
    writes: ClassVar[list] = []

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path in DISCOVERY:
            return self._send(200, DISCOVERY[path])
        if path == "/api/v1/namespaces":
            items = [{"metadata": {"name": n}} for n in EXISTING]
            return self._send(200, {"kind": "NamespaceList", "apiVersion": "v1", "items": items})
        match = re.match(r"^/api/v1/namespaces/([^/]+)(?:/(\w+)/([^/]+))?$", path)
        if match:
            namespace, plural, name = match.groups()
            if plural is None and namespace in EXISTING:
                return self._send(200, {"kind": "Namespace", "metadata": {"name": namespace}})
            return self._send(
                *not_found(f'{plural or "namespaces"} "{name or namespace}" not found')
            )
        return self._send(*not_found(f"the server could not find the requested resource {path}"))

    def do_PATCH(self):
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        body = yaml.safe_load(self.rfile.read(int(self.headers["Content-Length"])))
        self.writes.append({"path": url.path, "dryRun": params.get("dryRun")})
        namespace = (body.get("metadata") or {}).get("namespace")
        if namespace and namespace not in EXISTING:
            return self._send(*not_found(f'namespaces "{namespace}" not found'))
        return self._send(200, body)

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def kubeconfig(tmp_path):
    FreshCluster.writes = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FreshCluster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fresh", "cluster": {"server": host}}],
                "users": [{"name": "admin", "user": {"token": TOKEN}}],
                "contexts": [{"name": "fresh", "context": {"cluster": "fresh", "user": "admin"}}],
                "current-context": "fresh",
            }
        )
    )
    yield path
    server.shutdown()
    server.server_close()


def test_check_mode_on_a_fresh_cluster_reports_and_does_not_fail(tool_env, tmp_path, kubeconfig):
    objects = REPO_ROOT / "roles/platform_k8s/molecule/default/objects.k8s.yaml"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": ["platform_defaults"],
                    "vars": {"platform_k8s_mode": "apply", "platform_kubeconfig": str(kubeconfig)},
                    "tasks": [
                        {
                            "ansible.builtin.include_role": {
                                "name": "platform_k8s",
                                "tasks_from": "apply",
                            },
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
                }
            ]
        )
    )
    env = dict(tool_env, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    result = subprocess.run(
        ["ansible-playbook", "--check", str(playbook)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = " ".join((result.stdout + result.stderr).split())  # the callback wraps long lines
    assert result.returncode == 0, output[-5000:]
    assert "would create ConfigMap/settings in demo: namespace demo does not exist yet" in output
    assert (
        "would create Rollout/demo in demo: argoproj.io/v1alpha1 Rollout is not served yet"
        in output
    )
    # only what the server can take was sent, and only as a dry run
    assert FreshCluster.writes == [{"path": "/api/v1/namespaces/demo", "dryRun": "All"}]
