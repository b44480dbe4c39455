"""Every chart pin and every chart value of the roles, checked against the upstream chart data in
../shared/charts (released versions, values.yaml, values.schema.json of the pinned version).

- A pin must be a released chart version (releases.txt), and its comment must say where.
- Every key a role sets (in the values the add-ons stage renders for the local inventory) must exist
  in the pinned version's values.yaml (dependencies: charts/<name>/values.yaml), or be accepted by
  its values.schema.json, or sit under a free-form map, or be listed in COMMENTED_KEYS with the
  reason (upstream documents it only as a commented example but reads it in its templates).
- The merged values validate against values.schema.json where the chart ships one.
- The CRD bundle applied outside a chart (Prometheus Operator) is the app version of the chart.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

# charts_support: beside this file (pytest's rootdir-relative import; a script's own folder)
from charts_support import (
    PIN_CHARTS,
    REPO_ROOT,
    SHARED_CHARTS,
    addons_build,
    data_folder,
    deep_merge,
    load_yaml,
    releases,
    rendered_releases,
    role_chart_pins,
)

PINS = role_chart_pins()

# Pins of versions not (yet) in ../shared/charts/<chart>/releases.txt, each with the citation of its
# upstream release (release page or published chart index). None today.
RELEASE_EXCEPTIONS: dict[tuple[str, str], str] = {}

# Keys upstream documents only as commented examples in values.yaml, read by the chart's templates.
# (chart, dotted key) -> where upstream reads it.
COMMENTED_KEYS = {
    (
        "cert-manager",
        "serviceAccount.name",
    ): 'values.yaml shows `# name: ""`; templates/_helpers.tpl cert-manager.serviceAccountName '
    "reads .Values.serviceAccount.name (and values.schema.json declares it)",
    (
        "kube-prometheus-stack",
        "grafana.adminPassword",
    ): "grafana values.yaml and kube-prometheus-stack values.yaml show `# adminPassword: "
    "strongpassword`; grafana templates/_config.tpl reads .Values.adminPassword "
    "(empty: a random one)",
    (
        "kube-prometheus-stack",
        "grafana.persistence.storageClassName",
    ): "grafana values.yaml shows `# storageClassName: default`; templates/pvc.yaml reads "
    ".Values.persistence.storageClassName",
}

# Maps whose defaults are not empty but whose keys are free-form: the templates range over them.
FREE_FORM_MAPS = {
    (
        "cluster-autoscaler",
        "extraArgs",
    ): "templates/deployment.yaml: range .Values.extraArgs -> --key=value",
    ("cluster-autoscaler", "serviceMonitor.selector"): "templates/servicemonitor.yaml: range "
    ".Values.serviceMonitor.selector -> the ServiceMonitor's labels",
}


# --- pins ------------------------------------------------------------------------------------
def test_every_chart_pin_names_a_known_chart():
    unknown = [p.var for p in PINS if p.var not in PIN_CHARTS]
    assert not unknown, (
        f"add {unknown} to PIN_CHARTS in tests/charts/charts_support.py (which chart it installs) "
        "and its upstream data to ../shared/charts"
    )
    assert {p.var for p in PINS} == set(PIN_CHARTS), "a pin listed in PIN_CHARTS is gone"


@pytest.mark.parametrize("pin", PINS, ids=lambda p: p.var)
def test_every_pinned_chart_version_is_released(pin):
    chart = PIN_CHARTS[pin.var]
    released = releases(chart)
    if (chart, pin.version) in RELEASE_EXCEPTIONS:
        assert RELEASE_EXCEPTIONS[(chart, pin.version)].startswith("http")
        return
    assert pin.version in released, (
        f"roles/{pin.role}/defaults/main.yml pins {chart} {pin.version}, which is not a release "
        f"listed in {SHARED_CHARTS / chart / 'releases.txt'} (newest: {next(iter(released))})"
    )
    record = f"../shared/charts/{chart}/releases.txt"
    assert record in pin.comment_above, (
        f"the comment above {pin.var} must say where its release is recorded ({record})"
    )
    release = released[pin.version]
    assert release.date in pin.comment_above and release.app_version in pin.comment_above, (
        f"the comment above {pin.var} must give the release date {release.date} and app version "
        f"{release.app_version} from {record}"
    )


@pytest.mark.parametrize("pin", PINS, ids=lambda p: p.var)
def test_upstream_data_exists_for_every_pinned_version(pin):
    chart = PIN_CHARTS[pin.var]
    folder = data_folder(chart, pin.version)
    assert (folder / "values.yaml").is_file(), (
        f"{folder} is missing: pin a version whose values ../shared/charts holds (see its README)"
    )


# --- the CRD bundle applied outside a chart ----------------------------------------------------
def test_the_prometheus_operator_crd_bundle_is_the_charts_app_version():
    versions = load_yaml(REPO_ROOT / "roles/monitoring/vars/main.yml")[
        "_monitoring_chart_operator_versions"
    ]
    released = releases("kube-prometheus-stack")
    for chart_version, operator in versions.items():
        assert chart_version in released, f"kube-prometheus-stack {chart_version} is not released"
        assert operator == released[chart_version].app_version, (
            f"kube-prometheus-stack {chart_version} runs prometheus-operator "
            f"{released[chart_version].app_version}, not {operator} "
            "(../shared/charts/kube-prometheus-stack/releases.txt)"
        )
    pin = load_yaml(REPO_ROOT / "roles/monitoring/defaults/main.yml")["monitoring_chart_version"]
    assert pin in versions, f"add kube-prometheus-stack {pin}'s appVersion to roles/monitoring/vars"
    chart_yaml = load_yaml(data_folder("kube-prometheus-stack", pin) / "Chart.yaml")
    assert versions[pin] == chart_yaml["appVersion"]


def test_the_rendered_crd_source_is_the_charts_app_version(rendered):
    (release,) = [r for r in rendered if r.chart == "kube-prometheus-stack"]
    chart_yaml = load_yaml(data_folder(release.chart, release.version) / "Chart.yaml")
    source = release.pin["crds_source"]
    assert source["prometheus_operator_version"] == chart_yaml["appVersion"]
    assert f"/download/{chart_yaml['appVersion']}/" in source["url"]
    assert release.values["crds"]["enabled"] is False  # the bundle, not the chart, owns them


# --- values ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def rendered(tmp_path_factory, tool_env):
    """The Helm releases the add-ons stage renders for the local inventory (as `make site` does)."""
    build = addons_build(tmp_path_factory.mktemp("addons"), tool_env)
    releases_ = rendered_releases(build)
    assert {r.chart for r in releases_} == set(PIN_CHARTS.values())
    return releases_


def release_of(rendered, chart):
    (release,) = [r for r in rendered if r.chart == chart]
    return release


def chart_defaults(folder: Path) -> tuple[dict, dict[str, Path]]:
    """values.yaml of a chart folder and {dependency name: its folder}."""
    values = load_yaml(folder / "values.yaml") or {}
    deps = {p.name: p for p in sorted((folder / "charts").glob("*")) if p.is_dir()}
    return values, deps


def leaf_paths(values, prefix=()):
    """Every key path a values dict sets, down to non-empty maps' leaves."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaf_paths(value, (*prefix, key))
    else:
        yield prefix


def schema_accepts(schema: dict | None, path: tuple) -> bool:
    """Whether a JSON schema declares (or leaves open) the key path."""
    node = schema
    for key in path:
        if not isinstance(node, dict):
            return False
        node = resolve_ref(schema, node)
        properties = node.get("properties") or {}
        if key in properties:
            node = properties[key]
            continue
        extra = node.get("additionalProperties", True)
        pattern = [v for p, v in (node.get("patternProperties") or {}).items() if re.search(p, key)]
        if pattern:
            node = pattern[0]
        elif extra is True or extra == {}:
            return node.get("type") in (None, "object") or "object" in node.get("type", [])
        elif isinstance(extra, dict):
            node = extra
        else:
            return False
    return True


def resolve_ref(root, node):
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target = root
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def unknown_keys(chart: str, folder: Path, values: dict) -> list[str]:
    defaults, deps = chart_defaults(folder)
    schema_file = folder / "values.schema.json"
    schema = load_yaml(schema_file) if schema_file.is_file() else None
    problems = []
    for path in leaf_paths(values):
        if not path:
            continue
        if path[0] in deps:  # a dependency's values: the parent's block over the subchart's file
            sub_defaults, _ = chart_defaults(deps[path[0]])
            merged = deep_merge(sub_defaults, defaults.get(path[0]) or {})
            sub_schema_file = deps[path[0]] / "values.schema.json"
            sub_schema = load_yaml(sub_schema_file) if sub_schema_file.is_file() else None
            found = key_in(merged, path[1:]) or (
                sub_schema and schema_accepts(sub_schema, path[1:])
            )
        else:
            found = key_in(defaults, path) or (schema and schema_accepts(schema, path))
        dotted = ".".join(map(str, path))
        if found or any(
            c == chart and (dotted == k or dotted.startswith(k + "."))
            for c, k in (*COMMENTED_KEYS, *FREE_FORM_MAPS)
        ):
            continue
        problems.append(dotted)
    return problems


def key_in(defaults, path) -> bool:
    """The key path exists in values.yaml, or runs into a free-form map (an empty map or null)."""
    node = defaults
    for key in path:
        if isinstance(node, dict) and not node:
            return True  # free-form map, e.g. annotations: {}
        if node is None:
            return True  # documented as null: any value, maps included
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


@pytest.mark.parametrize("chart", sorted(set(PIN_CHARTS.values())))
def test_every_values_key_exists_in_the_pinned_chart(rendered, chart):
    release = release_of(rendered, chart)
    folder = data_folder(chart, release.version)
    problems = unknown_keys(chart, folder, release.values)
    assert not problems, (
        f"{release.component} sets keys that {chart} {release.version} does not have "
        f"(not in {folder}/values.yaml nor its schema): {problems}"
    )


SCHEMA_CHARTS = sorted(
    {
        chart
        for var, chart in PIN_CHARTS.items()
        for pin in PINS
        if pin.var == var and (data_folder(chart, pin.version) / "values.schema.json").is_file()
    }
)


@pytest.mark.parametrize("chart", SCHEMA_CHARTS)
def test_values_validate_against_the_charts_schema(rendered, chart):
    """What Helm does before rendering: values coalesced over values.yaml, against the schema."""
    release = release_of(rendered, chart)
    folder = data_folder(chart, release.version)
    schema = load_yaml(folder / "values.schema.json")
    merged = deep_merge(load_yaml(folder / "values.yaml") or {}, release.values)
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(merged), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


# --- the checker itself: it fails on what the roles used to set -------------------------------
def test_the_key_check_refuses_a_key_the_chart_does_not_have():
    folder = data_folder("cert-manager", "v1.21.1")
    assert unknown_keys("cert-manager", folder, {"prometheus": {"serviceMonitor": {"enabled": 1}}})
    assert (
        unknown_keys("cert-manager", folder, {"prometheus": {"servicemonitor": {"labels": {}}}})
        == []
    )
    kps = data_folder("kube-prometheus-stack", "81.4.3")
    assert (
        unknown_keys(
            "kube-prometheus-stack", kps, {"grafana": {"deploymentStrategy": {"type": "Recreate"}}}
        )
        == []
    )
    assert unknown_keys(
        "kube-prometheus-stack", kps, {"grafana": {"strategy": {"type": "Recreate"}}}
    )
    assert unknown_keys("kube-prometheus-stack", kps, {"kubeStateMetrics": {"enabled": True}}) == []


def test_the_schema_check_refuses_a_value_the_schema_does_not_allow():
    folder = data_folder("external-secrets", "2.9.0")
    schema = load_yaml(folder / "values.schema.json")
    merged = deep_merge(
        load_yaml(folder / "values.yaml"), {"serviceMonitor": {"renderMode": "never"}}
    )
    assert list(jsonschema.Draft7Validator(schema).iter_errors(merged))


def test_the_release_check_refuses_the_old_pins():
    for chart, version in [
        ("kube-prometheus-stack", "81.4.5"),
        ("cert-manager", "v1.21.2"),
        ("argo-rollouts", "2.41.1"),
    ]:
        assert version not in releases(chart)


def test_the_validator_takes_rbac_names_as_path_segments():
    """Charts name RBAC objects `system:metrics-server` or `cert-manager:leaderelection`; Kubernetes
    validates those names as path segments (pkg/apis/rbac/validation/validation.go
    ValidateRBACName = path.IsValidPathSegmentName), not as DNS subdomains."""
    from manifest_validation import ManifestValidator
    from tests.support import crd_schema_location

    version = load_yaml(REPO_ROOT / "roles/platform_defaults/defaults/main.yml")[
        "platform_kubernetes_version"
    ]
    validator = ManifestValidator(str(version), crd_schema_location())

    def role(name):
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [],
        }

    assert validator.validate_object(role("system:metrics-server")) == []
    assert validator.validate_object(role("a/b"))
    assert validator.validate_object(role(".."))
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a:b"}}
    assert validator.validate_object(config_map)  # other kinds stay DNS-1123 subdomains
