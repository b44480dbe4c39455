"""platform_k8s decisions (issue 20, findings 3, 5, 6), against upstream shapes.

- Helm repair: release states as `helm list --all --output=yaml` reports them (helm/helm v3.21.4
  cmd/helm/list.go releaseElement: name, namespace, revision, updated, status, chart,
  app_version; kubernetes.core 6.2.0 helm_info returns that element as ``status``) and storage
  Secrets as Helm's Secret driver labels them (pkg/storage/driver/secrets.go newSecretsObject:
  name, owner, status, version; name sh.helm.release.v1.<release>.v<revision>, pkg/storage/
  storage.go makeKey). What happens to each state follows pkg/action/upgrade.go (v3.21.4):
  a pending latest revision -> errPending; a failed one -> upgraded from; the superseded mark
  is set only once an upgrade or rollback succeeded.
- Check mode: the apis shape of kubernetes.core 6.2.0 k8s_cluster_info (execute_module).
- Helm version: `helm version` output (cmd/helm/version.go, %#v of BuildInfo) parsed with the
  same patterns as kubernetes.core 6.2.0 module_utils/helm.py get_helm_version.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kubernetes.core.plugins.module_utils.helm import (
    parse_helm_plugin_list,
)

from tests.support import REPO_ROOT
from tests.support.playbook import local_play, run_playbook, write_playbook

_spec = importlib.util.spec_from_file_location(
    "platform_k8s_filters", REPO_ROOT / "roles/platform_k8s/filter_plugins/platform_k8s.py"
)
pk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pk)

# `helm version` prints %#v of BuildInfo: the example in helm's own help text (cmd/helm/version.go,
# v3.21.4) with Version set; Helm 4 adds KubeClientVersion (internal/version/version.go, v4.2.4).
# Only Version matters to the parser; the other values are placeholders.
HELM3_VERSION = (
    'version.BuildInfo{Version:"v3.21.4", GitCommit:"813176c51bb5c181dbbd7901298ddcc104cd3417",'
    ' GitTreeState:"clean", GoVersion:"go1.x"}'
)
HELM4_VERSION = (
    'version.BuildInfo{Version:"v4.2.4", GitCommit:"3900f434fd3ef2b84065dc04508df48f288dba00",'
    ' GitTreeState:"clean", GoVersion:"go1.x", KubeClientVersion:"v1.x"}'
)


def listed(status, revision):
    """One element of `helm list --all --output=yaml`, as helm_info returns it."""
    return {
        "name": "argo-rollouts",
        "namespace": "argo-rollouts",
        "revision": str(revision),
        "updated": "2026-11-30 19:00:00.000000000 +0000 UTC",
        "status": status,
        "chart": "argo-rollouts-2.41.1",
        "app_version": "v1.9.0",
    }


def stored(*revisions):
    """Metadata of the release's storage Secrets: (revision, status) pairs."""
    return [
        {
            "name": f"sh.helm.release.v1.argo-rollouts.v{version}",
            "namespace": "argo-rollouts",
            "labels": {
                "name": "argo-rollouts",
                "owner": "helm",
                "status": status,
                "version": str(version),
                "modifiedAt": "1764529200",
            },
        }
        for version, status in revisions
    ]


# ---- Helm repair (finding 3) ----


@pytest.mark.parametrize("release", [None, {}, listed("deployed", 3)])
def test_a_deployed_or_absent_release_needs_nothing(release):
    assert pk.helm_repair(release, [])["action"] == "none"


def test_a_failed_upgrade_goes_back_to_the_last_completed_revision():
    # the module alone: values and chart match the failed revision -> "ok", release stays failed
    plan = pk.helm_repair(
        listed("failed", 3), stored((1, "superseded"), (2, "deployed"), (3, "failed"))
    )
    assert plan["action"] == "forget"
    assert plan["forget"] == ["sh.helm.release.v1.argo-rollouts.v3"]


def test_an_interrupted_upgrade_goes_back_to_the_last_completed_revision():
    # the module alone: `helm list` without --all hides it, `helm upgrade -i` meets errPending
    plan = pk.helm_repair(
        listed("pending-upgrade", 2), stored((1, "deployed"), (2, "pending-upgrade"))
    )
    assert (plan["action"], plan["forget"]) == ("forget", ["sh.helm.release.v1.argo-rollouts.v2"])


def test_a_failed_rollback_after_failed_upgrades_forgets_every_unfinished_revision():
    # rollback.go marks the current revision superseded and the target failed when it fails
    plan = pk.helm_repair(
        listed("failed", 4),
        stored((1, "superseded"), (2, "superseded"), (3, "failed"), (4, "failed")),
    )
    assert plan["forget"] == [
        "sh.helm.release.v1.argo-rollouts.v3",
        "sh.helm.release.v1.argo-rollouts.v4",
    ]


@pytest.mark.parametrize("status", ["pending-install", "failed"])
def test_a_first_install_that_never_completed_is_uninstalled(status):
    plan = pk.helm_repair(listed(status, 1), stored((1, status)))
    assert (plan["action"], plan["forget"]) == ("uninstall", [])


def test_an_interrupted_uninstall_is_forgotten():
    plan = pk.helm_repair(listed("uninstalling", 1), stored((1, "uninstalling")))
    assert plan["action"] == "forget"


def test_a_broken_release_without_secret_storage_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="HELM_DRIVER"):
        pk.helm_repair(listed("failed", 2), [])


# ---- check mode on a fresh cluster (finding 5) ----

FRESH_APIS = {  # k8s_cluster_info apis of a cluster with no add-on installed yet
    "v1": {
        "Namespace": {"namespaced": False},
        "ConfigMap": {"namespaced": True},
        "Service": {"namespaced": True},
    },
    "apiextensions.k8s.io/v1": {"CustomResourceDefinition": {"namespaced": False}},
}


def obj(api_version, kind, name, namespace=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def test_check_mode_dry_runs_only_what_the_server_can_take():
    manifests = [
        obj("v1", "Namespace", "model-api"),
        obj("v1", "ConfigMap", "settings", "model-api"),
        obj("argoproj.io/v1alpha1", "Rollout", "model-api", "model-api"),
        obj("v1", "ConfigMap", "kube-root", "kube-system"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "rollouts.argoproj.io"),
    ]
    plan = pk.check_mode_plan(manifests, ["default", "kube-system"], FRESH_APIS)
    assert [o["metadata"]["name"] for o in plan["dry_run"]] == [
        "model-api",
        "kube-root",
        "rollouts.argoproj.io",
    ]
    assert plan["would_create"] == [
        {
            "object": "ConfigMap/settings in model-api",
            "reason": "namespace model-api does not exist yet",
        },
        {
            "object": "Rollout/model-api in model-api",
            "reason": "argoproj.io/v1alpha1 Rollout is not served yet",
        },
    ]


# ---- Helm version (finding 6) ----


def test_helm_4_breaks_the_collections_plugin_list_parser():
    # helm v4.2.4 pkg/cmd/plugin_list.go: six tab-separated columns (gosuri/uitable); v3.21.4
    # cmd/helm/plugin_list.go: three. kubernetes.core 6.2.0 unpacks three.
    # Cell values are placeholders: only the number of columns matters to the parser.
    helm3 = ["NAME\tVERSION\tDESCRIPTION", "diff\t<version>\t<description>"]
    assert parse_helm_plugin_list(helm3) == [("diff", "<version>", "<description>")]
    helm4 = [
        "NAME\tVERSION\tTYPE\tAPIVERSION\tPROVENANCE\tSOURCE",
        "diff\t<version>\t<type>\t<apiVersion>\tunknown\t<source URL>",
    ]
    with pytest.raises(ValueError, match="too many values to unpack"):
        parse_helm_plugin_list(helm4)


@pytest.mark.parametrize(
    ("stdout", "problem"),
    [
        (HELM3_VERSION, ""),
        (HELM4_VERSION, "Helm 4.2.4 is not supported"),
        (HELM3_VERSION.replace("v3.21.4", "v3.12.0"), "Helm 3.12.0 is not supported"),
        ("something else", "cannot read the Helm version"),
    ],
)
def test_the_helm_version_is_judged_like_the_module_reads_it(stdout, problem):
    found = pk.helm_version_problem({"rc": 0, "stdout": stdout}, "3.15.0", "4.0.0", "3.21.4")
    assert (found == "") if not problem else (problem in found and ">=3.15.0,<4.0.0" in found)


def test_a_missing_helm_names_the_version_to_install():
    found = pk.helm_version_problem(
        {"rc": 2, "msg": "[Errno 2] No such file or directory: b'helm'"},
        "3.15.0",
        "4.0.0",
        "3.21.4",
    )
    assert "install Helm 3.21.4" in found


def _run_version_check(tool_env, tmp_path, stdout):
    """Run tasks/helm_version.yml through ansible-playbook with a stand-in helm on PATH."""
    fake = tmp_path / "bin" / "helm"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho '{stdout}'\n")
    fake.chmod(0o755)
    play = local_play(
        tasks=[
            {"ansible.builtin.include_role": {"name": "platform_k8s", "tasks_from": "helm_version"}}
        ]
    )
    return run_playbook(
        [write_playbook(tmp_path / "play.yml", play)],
        tool_env,
        timeout=120,
        PATH=f"{fake.parent}{os.pathsep}{tool_env['PATH']}",
        ANSIBLE_ROLES_PATH=str(REPO_ROOT / "roles"),
    )


def test_the_role_refuses_helm_4_before_any_release(tool_env, tmp_path):
    result = _run_version_check(tool_env, tmp_path, HELM4_VERSION)
    assert result.returncode != 0
    assert "Helm 4.2.4 is not supported" in result.stdout
    assert "install Helm 3.21.4" in result.stdout


def test_the_role_accepts_the_pinned_helm(tool_env, tmp_path):
    result = _run_version_check(tool_env, tmp_path, HELM3_VERSION)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_pin_is_inside_the_supported_range():
    import yaml

    defaults = yaml.safe_load((REPO_ROOT / "roles/platform_k8s/defaults/main.yml").read_text())
    pin = defaults["platform_k8s_helm_version"]
    stdout = HELM3_VERSION.replace("v3.21.4", f"v{pin}")
    assert (
        pk.helm_version_problem(
            {"rc": 0, "stdout": stdout},
            defaults["platform_k8s_helm_supported_min"],
            defaults["platform_k8s_helm_supported_below"],
            pin,
        )
        == ""
    ), json.dumps(defaults)
