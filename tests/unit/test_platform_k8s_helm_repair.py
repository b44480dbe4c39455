"""A failed or interrupted Helm release is repaired on the next run (issue 20, finding 3).

platform_k8s's apply path (tasks/cluster.yml -> tasks/helm.yml) runs through ansible-playbook
with kubernetes.core 6.2.0's real helm, helm_info, k8s_info and k8s modules. The Helm CLI is a
stand-in (tests/support/helm_stand_in.py: Helm v3.21.4's list, upgrade and uninstall rules, cited
there); the API server is a stand-in that serves the release's revisions as Helm's storage
Secrets (helm v3.21.4 pkg/storage/driver/secrets.go: sh.helm.release.v1.<name>.v<revision>,
labels name/owner/status/version) and deletes them. Before, a failed release whose values and
chart matched was reported "ok" and left failed, and an interrupted first install made every
later run fail with "another operation (install/upgrade/rollback) is in progress".
"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from tests.support import helm_stand_in, kube_api
from tests.support.kube_api import JsonHandler, api_resource, discovery, status
from tests.support.playbook import local_play, run_playbook, write_playbook

RELEASE = {
    "name": "demo",
    "namespace": "demo",
    "chart_ref": "demo",
    "chart_repo_url": "https://charts.example.com",
    "chart_version": "1.2.3",
    "values": {"replicaCount": 2},
}
CHART = "demo-1.2.3"


def revision(version, status, replicas):
    return {
        "version": version,
        "status": status,
        "values": {"replicaCount": replicas},
        "chart": CHART,
    }


def secret(state, rev):
    name = f"sh.helm.release.v1.{state['name']}.v{rev['version']}"
    labels = {
        "name": state["name"],
        "owner": "helm",
        "status": rev["status"],
        "version": str(rev["version"]),
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": name, "namespace": state["namespace"], "labels": labels},
        "data": {"release": "c3RhbmQtaW4="},
    }


DISCOVERY = discovery(core=[api_resource("secrets", "Secret", True, "secret")])


def make_api_server(state_file):
    class HelmStorage(JsonHandler):
        def state(self):
            return json.loads(state_file.read_text())

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path in DISCOVERY:
                return self.send_json(200, DISCOVERY[url.path])
            state = self.state()
            match = re.match(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?$", url.path)
            if match and match.group(1) == state["namespace"]:
                secrets = [secret(state, r) for r in state["revisions"]]
                if match.group(2) is None:
                    selector = dict(urllib.parse.parse_qsl(url.query)).get("labelSelector", "")
                    wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
                    items = [
                        s
                        for s in secrets
                        if all(s["metadata"]["labels"].get(k) == v for k, v in wanted.items())
                    ]
                    return self.send_json(
                        200,
                        {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items},
                    )
                for item in secrets:
                    if item["metadata"]["name"] == match.group(2):
                        return self.send_json(200, item)
            return self.send_json(*status(404, "NotFound", f"{url.path} not found"))

        def do_DELETE(self):
            url = urllib.parse.urlparse(self.path)
            state = self.state()
            name = url.path.rsplit("/", 1)[-1]
            kept = [r for r in state["revisions"] if secret(state, r)["metadata"]["name"] != name]
            if len(kept) == len(state["revisions"]):
                return self.send_json(*status(404, "NotFound", f'secrets "{name}" not found'))
            state["revisions"] = kept
            state.setdefault("deleted", []).append(name)
            state_file.write_text(json.dumps(state))
            return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return HelmStorage


@pytest.fixture
def cluster(tmp_path, tool_env):
    state_file = tmp_path / "helm-state.json"
    bin_dir = tmp_path / "bin"
    helm_stand_in.install(bin_dir)
    with kube_api.cluster(tmp_path, make_api_server(state_file)) as kubeconfig:
        play = local_play(
            roles=["platform_defaults"],
            vars={
                "platform_k8s_render": False,
                "platform_kubeconfig": str(kubeconfig),
                "platform_build_dir": str(tmp_path / "build"),
            },
            tasks=[
                {
                    "ansible.builtin.include_role": {
                        "name": "platform_k8s",
                        "tasks_from": "cluster",
                    },
                    "vars": {
                        "platform_k8s_component": "demo",
                        "platform_k8s_helm_release": RELEASE,
                    },
                }
            ],
        )
        playbook = write_playbook(tmp_path / "play.yml", play)

        def run(revisions):
            state_file.write_text(
                json.dumps({"name": "demo", "namespace": "demo", "revisions": revisions})
            )
            result = run_playbook(
                [playbook],
                tool_env,
                PATH=f"{bin_dir}:{tool_env['PATH']}",
                HELM_STAND_IN_STATE=str(state_file),
            )
            return result, json.loads(state_file.read_text())

        yield run


def upgrades(state):
    return [c for c in state["calls"] if " upgrade " in f" {c} "]


def test_a_failed_upgrade_with_unchanged_inputs_is_upgraded_again(cluster):
    result, state = cluster([revision(1, "deployed", 1), revision(2, "failed", 2)])
    assert result.returncode == 0, result.stdout[-4000:]
    assert state["deleted"] == ["sh.helm.release.v1.demo.v2"]
    assert [r["status"] for r in state["revisions"]] == ["superseded", "deployed"]
    assert state["revisions"][-1]["values"] == {"replicaCount": 2}
    (upgrade,) = upgrades(state)
    assert "--atomic" in upgrade


def test_an_interrupted_upgrade_is_upgraded_from_the_last_good_revision(cluster):
    result, state = cluster([revision(1, "deployed", 1), revision(2, "pending-upgrade", 2)])
    assert result.returncode == 0, result.stdout[-4000:]
    assert state["deleted"] == ["sh.helm.release.v1.demo.v2"]
    assert state["revisions"][-1]["status"] == "deployed"


def test_an_interrupted_first_install_is_uninstalled_and_installed_again(cluster):
    result, state = cluster([revision(1, "pending-install", 2)])
    assert result.returncode == 0, result.stdout[-4000:]
    assert any(c.split()[0:1] == ["uninstall"] or " uninstall " in f" {c} " for c in state["calls"])
    assert [r["status"] for r in state["revisions"]] == ["deployed"]


def test_a_deployed_release_is_left_alone(cluster, tmp_path):
    # already in the release record, as after the run that deployed it
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "releases.json").write_text('[{"name": "demo", "namespace": "demo"}]')
    result, state = cluster([revision(1, "deployed", 2)])
    assert result.returncode == 0, result.stdout[-4000:]
    assert upgrades(state) == [] and "deleted" not in state
    assert "changed=0" in result.stdout


def test_a_deployed_release_is_recorded_once_for_teardown(cluster, tmp_path):
    """platform_k8s records each release it applied (platform_release_record) and keeps one entry
    per release on later runs; teardown reads this record (tests/unit/test_release_record.py)."""
    record = tmp_path / "build" / "releases.json"
    record.parent.mkdir()
    record.write_text(json.dumps([{"name": "earlier", "namespace": "kube-system"}]))
    for _ in range(2):
        result, _state = cluster([revision(1, "deployed", 2)])
        assert result.returncode == 0, result.stdout[-4000:]
        assert json.loads(record.read_text()) == [
            {"name": "earlier", "namespace": "kube-system"},
            {"name": "demo", "namespace": "demo"},
        ]
