"""k8s_render: validate, then write a component's files once; stale files go; check mode."""

from __future__ import annotations

import k8s_render
import pytest
import yaml

from tests.support import crd_schema_location

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "demo"},
    "data": {"a": "b"},
}
RELEASE = {
    "name": "demo",
    "namespace": "demo",
    "chart_ref": "demo",
    "chart_version": "1.2.3",
    "chart_repo_url": "https://charts.example.com",
    "values": {"replicaCount": 2},
}


def args(dest, objects, helm_release=None):
    return {
        "dest": str(dest),
        "objects": objects,
        "helm_release": helm_release or {},
        "kubernetes_version": "1.33",
        "schema_location": crd_schema_location(),
        "source": "demo",
    }


def test_renders_in_apply_order_then_reports_no_change(run_module, tmp_path):
    failed, first = run_module(k8s_render.main, args(tmp_path, [NAMESPACE, CONFIGMAP], RELEASE))
    assert not failed and first["changed"]
    assert first["written"] == [
        "helm/demo.release.yaml",
        "helm/demo.values.yaml",
        "manifests/001-namespace-demo.yaml",
        "manifests/002-configmap-demo-settings.yaml",
    ]
    assert (
        yaml.safe_load((tmp_path / "manifests/002-configmap-demo-settings.yaml").read_text())
        == CONFIGMAP
    )
    pin = yaml.safe_load((tmp_path / "helm/demo.release.yaml").read_text())
    assert pin["chart_version"] == "1.2.3" and "values" not in pin
    assert yaml.safe_load((tmp_path / "helm/demo.values.yaml").read_text()) == {"replicaCount": 2}

    failed, second = run_module(k8s_render.main, args(tmp_path, [NAMESPACE, CONFIGMAP], RELEASE))
    assert not failed and not second["changed"] and second["written"] == []


def test_files_no_longer_rendered_are_removed(run_module, tmp_path):
    run_module(k8s_render.main, args(tmp_path, [NAMESPACE, CONFIGMAP], RELEASE))
    failed, result = run_module(k8s_render.main, args(tmp_path, [NAMESPACE]))
    assert not failed and result["changed"]
    assert result["removed"] == [
        "helm/demo.release.yaml",
        "helm/demo.values.yaml",
        "manifests/002-configmap-demo-settings.yaml",
    ]
    assert sorted(p.name for p in tmp_path.rglob("*.yaml")) == ["001-namespace-demo.yaml"]


def test_check_mode_writes_nothing(run_module, tmp_path):
    failed, result = run_module(k8s_render.main, args(tmp_path, [NAMESPACE]), check_mode=True)
    assert not failed and result["changed"]
    assert result["written"] == ["manifests/001-namespace-demo.yaml"]
    assert not list(tmp_path.rglob("*.yaml"))


@pytest.mark.parametrize("previous", [[], [NAMESPACE]])
def test_an_invalid_object_renders_nothing_and_names_the_field(run_module, tmp_path, previous):
    if previous:
        run_module(k8s_render.main, args(tmp_path, previous))
    broken = dict(CONFIGMAP, dataa={"a": "b"})
    failed, result = run_module(k8s_render.main, args(tmp_path, [NAMESPACE, broken]))
    assert failed
    assert "nothing written" in result["msg"]
    assert "ConfigMap/settings in demo: field dataa: unknown field" in result["msg"]
    names = sorted(p.name for p in tmp_path.rglob("*.yaml"))
    assert names == (["001-namespace-demo.yaml"] if previous else [])
