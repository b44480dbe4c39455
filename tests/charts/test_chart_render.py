"""Every pinned chart rendered for real, with the values the inventory renders, and the output
validated like the roles' own objects.

The charts come from a chart cache: PLATFORM_CHART_CACHE=<folder> holding <chart>/<version>/ (built
by tests/charts/chart_cache.py: `pull` from the chart repositories in CI, `mirror` from the charts'
source repositories). Without it every test here skips and says why.

Rendering: helm-python-sdk (Helm's Go SDK, no helm binary), as `helm template` renders an install:
the inventory's Kubernetes version, and the API versions the cluster will have (Kubernetes' own plus
those of every CRD the pinned charts install, and the metrics API of metrics-server).

Checks on the output:
- every object validates with the project's validator (module_utils/manifest_validation.py: strict
  built-in schemas of the inventory's Kubernetes version, CRD schemas from ../shared/crd-schemas,
  completed by the CRDs of the pinned charts for kinds that folder lacks);
- every object a role waits for (platform_k8s_wait in its tasks) is rendered;
- every ServiceMonitor carries the label Prometheus selects and finds a Service with its port;
- every service account with an IRSA role is the one a workload runs as;
- a Deployment that mounts a ReadWriteOnce claim uses the Recreate strategy;
- the objects a role applies next to a chart (the alb IngressClassParams) are not excluded by the
  chart's admission webhooks;
- the ingressClassParams values the role used to set are inert without createIngressClassResource.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

# charts_support: beside this file (pytest's rootdir-relative import; a script's own folder)
from charts_support import (
    CHART_CACHE_ENV,
    PIN_CHARTS,
    REPO_ROOT,
    addons_build,
    cached_chart,
    deep_merge,
    load_yaml,
    rendered_releases,
)

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed (make deps)")
from helm_python import _native  # noqa: E402

from manifest_validation import ManifestValidator  # noqa: E402  (tests/conftest.py: module_utils)

CHARTS = sorted(set(PIN_CHARTS.values()))
PLATFORM_LABELS = {"monitoring.ml-platform.io/enabled": "true"}  # CONTRIBUTING.md
SPLIT = re.compile(r"(?:^|\s*\n)---\s*")  # Helm's releaseutil.SplitManifests separator


class _Loader(yaml.SafeLoader):
    """YAML 1.2 reading of `- =` (an enum value in the Gateway API CRDs the load balancer
    controller ships), which PyYAML's YAML 1.1 resolver takes for the `value` tag."""


_Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def load(text):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


REQUIRED_ENV = "PLATFORM_CHART_CACHE_REQUIRED"  # 1 (the CI job): a missing chart fails, never skips


def unavailable(reason: str):
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=1)")
    pytest.skip(reason)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chart_cache() -> Path:
    location = os.environ.get(CHART_CACHE_ENV)
    if not location:
        unavailable(
            f"{CHART_CACHE_ENV} is not set: build a chart cache with tests/charts/chart_cache.py "
            "(pull, or mirror from the charts' source repositories) and point it there"
        )
    cache = Path(location)
    if not cache.is_dir():
        unavailable(f"{CHART_CACHE_ENV}={cache} is not a folder")
    return cache


@pytest.fixture(scope="session")
def inventory(tmp_path_factory, tool_env, chart_cache):
    """The add-ons stage rendered for the local inventory, and the inventory's settings."""
    build = addons_build(tmp_path_factory.mktemp("addons-render"), tool_env)
    defaults = load_yaml(REPO_ROOT / "roles/platform_defaults/defaults/main.yml")
    return {
        "build": build,
        "releases": {r.chart: r for r in rendered_releases(build)},
        "kubernetes_version": str(defaults["platform_kubernetes_version"]),
        "infra": load_yaml(REPO_ROOT / "molecule/shared/platform_infra.yml")["platform_infra"],
    }


def chart_path(chart_cache: Path, release) -> Path:
    path = cached_chart(chart_cache, release.chart, release.version)
    if not (path / "Chart.yaml").is_file():
        unavailable(
            f"{release.chart} {release.version} is not in the chart cache ({path}); "
            "run tests/charts/chart_cache.py"
        )
    return path


def render(path: Path, release, values, kube_version, api_versions) -> list[dict]:
    with helm.Chart.load(path) as chart:
        options = {
            "name": release.name,
            "namespace": release.namespace,
            "is_install": True,
            "kube_version": f"v{kube_version}.0",
            "api_versions": api_versions,
        }
        # helm_python's Chart.render does not pass kube_version/api_versions; its native call does.
        rendered = json.loads(
            _native.call_string(
                "helm_render", chart._raw(), json.dumps(values), json.dumps(options)
            )
        )
    objects = []
    for name, text in sorted(rendered.items()):
        if name.endswith("NOTES.txt") or Path(name).name.startswith("_"):
            continue
        for part in SPLIT.split(text):
            if part.strip():
                obj = load(part)
                # Helm's resource builder flattens a v1 List into its items (Flatten())
                items = (obj.get("items") or []) if (obj or {}).get("kind") == "List" else [obj]
                for item in items:
                    if isinstance(item, dict) and item:
                        item.setdefault("metadata", {}).setdefault("namespace", None)
                        objects.append(item)
    for obj in objects:  # what Helm does: namespaced objects without one go to the release's
        if obj["metadata"]["namespace"] is None:
            del obj["metadata"]["namespace"]
    return objects


def crds_of(path: Path) -> list[dict]:
    """CRDs a chart ships in crds/ folders (its own and its dependencies')."""
    found = []
    for crd_file in sorted(path.rglob("crds/*.yaml")) + sorted(path.rglob("crds/*.yml")):
        for part in SPLIT.split(crd_file.read_text(encoding="utf-8")):
            obj = load(part) if part.strip() and "{{" not in part else None
            if isinstance(obj, dict) and obj.get("kind") == "CustomResourceDefinition":
                found.append(obj)
    return found


@pytest.fixture(scope="session")
def cluster(chart_cache, inventory, tmp_path_factory):
    """The API versions the cluster will have and a CRD schema folder for the validator: the
    shared CRD schemas, completed by the CRDs of the pinned charts."""

    def served(objects):
        out = set()
        for obj in objects:
            if obj["kind"] == "CustomResourceDefinition":
                group, kind = obj["spec"]["group"], obj["spec"]["names"]["kind"]
                for version in obj["spec"]["versions"]:
                    if version.get("served", True):
                        out |= {f"{group}/{version['name']}", f"{group}/{version['name']}/{kind}"}
            elif obj["kind"] == "APIService":  # an aggregated API, e.g. metrics.k8s.io
                out.add(f"{obj['spec']['group']}/{obj['spec']['version']}")
        return out

    paths = {
        chart: cached_chart(chart_cache, chart, release.version)
        for chart, release in inventory["releases"].items()
    }
    paths = {chart: path for chart, path in paths.items() if (path / "Chart.yaml").is_file()}
    crds = [crd for path in paths.values() for crd in crds_of(path)]  # crds/ folders
    api_versions = served(crds)
    for chart, path in paths.items():  # CRDs and APIServices the charts render as templates
        release = inventory["releases"][chart]
        try:
            objects = render(
                path, release, release.values, inventory["kubernetes_version"], sorted(api_versions)
            )
        except helm.HelmError:
            continue  # reported by the tests themselves
        crds += [o for o in objects if o["kind"] == "CustomResourceDefinition"]
        api_versions |= served(objects)
    schemas = tmp_path_factory.mktemp("crd-schemas")
    shared = Path(
        os.environ.get("PLATFORM_CRD_SCHEMA_LOCATION") or REPO_ROOT.parent / "shared/crd-schemas"
    )
    if shared.is_dir():
        shutil.copytree(shared, schemas, dirs_exist_ok=True)
    for crd in crds:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for version in crd["spec"]["versions"]:
            target = schemas / group / f"{kind}_{version['name']}.json"
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(strict_schema(schema)), encoding="utf-8")
    return {"api_versions": sorted(api_versions), "schemas": schemas, "crds": crds}


def strict_schema(node, root=True):
    """A CRD's openAPIV3Schema as a strict JSON schema (openapi2jsonschema --strict does the same):
    unknown fields are refused where the CRD is structural."""
    if isinstance(node, list):
        return [strict_schema(n, False) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_schema(v, False) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if root:
        out.setdefault("properties", {}).update(
            {
                k: out["properties"].get(k, {"type": t})
                for k, t in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object"))
            }
        )
    return out


@pytest.fixture(scope="session")
def rendered_charts(chart_cache, inventory, cluster):
    out = {}
    for chart, release in inventory["releases"].items():
        path = cached_chart(chart_cache, chart, release.version)
        if (path / "Chart.yaml").is_file():
            out[chart] = render(
                path,
                release,
                release.values,
                inventory["kubernetes_version"],
                cluster["api_versions"],
            )
    return out


def objects_of(rendered_charts, chart):
    if chart not in rendered_charts:
        unavailable(f"{chart} is not in the chart cache; run tests/charts/chart_cache.py")
    return rendered_charts[chart]


# --- helpers --------------------------------------------------------------------------------
def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against labels."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def role_waits(component_role: str) -> list[dict]:
    """The objects a role waits for (platform_k8s_wait), with `{{ var }}` from its defaults."""
    defaults = load_yaml(REPO_ROOT / "roles" / component_role / "defaults/main.yml")

    def fill(text):
        return re.sub(r"{{\s*([a-z0-9_]+)\s*}}", lambda m: str(defaults[m[1]]), str(text))

    waits = []
    for tasks in sorted((REPO_ROOT / "roles" / component_role / "tasks").glob("*.yml")):
        for task in load_yaml(tasks) or []:
            wait = ((task or {}).get("vars") or {}).get("platform_k8s_wait")
            if isinstance(wait, list):
                waits += [
                    {
                        "kind": w["kind"],
                        "name": fill(w["name"]),
                        "namespace": fill(w["namespace"]) if w.get("namespace") else None,
                    }
                    for w in wait
                ]
    return waits


ROLE_OF = {
    "argo-rollouts": ["argo_rollouts"],
    "aws-load-balancer-controller": ["aws_load_balancer_controller"],
    "cert-manager": ["cert_manager"],
    "cluster-autoscaler": [],  # its waits are in cluster_autoscaling, checked per release below
    "metrics-server": [],
    "external-secrets": ["external_secrets"],
    "kube-prometheus-stack": ["monitoring"],
}


def flat(obj, prefix=""):
    """{path: leaf value} of a JSON-like object."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(flat(value, f"{prefix}.{key}"))
        return out or {prefix: {}}
    if isinstance(obj, list):
        out = {}
        for index, value in enumerate(obj):
            out.update(flat(value, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: obj}


def fingerprint(objects) -> dict:
    out = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        ref = f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"
        out.update(flat(obj, ref))
    return out


# --- tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("chart", CHARTS)
def test_the_chart_renders_and_validates(chart, rendered_charts, inventory, cluster):
    objects = objects_of(rendered_charts, chart)
    assert objects, f"{chart} rendered nothing"
    validator = ManifestValidator(inventory["kubernetes_version"], str(cluster["schemas"]))
    count, problems = validator.validate_documents(objects, f"{chart} (rendered)")
    assert count == len(objects)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("chart", CHARTS)
def test_every_object_a_role_waits_for_is_rendered(chart, rendered_charts, inventory):
    objects = objects_of(rendered_charts, chart)
    release = inventory["releases"][chart]
    roles = ROLE_OF[chart] or ["cluster_autoscaling"]
    waits = [w for role in roles for w in role_waits(role)]
    if chart in ("cluster-autoscaler", "metrics-server"):
        waits = [w for w in waits if w["name"] == release.name]
    assert waits, f"no platform_k8s_wait found for {chart}"
    present = {
        (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace", release.namespace))
        for o in objects
    }
    for wait in waits:
        kind = "Service" if wait["kind"] == "Endpoints" else wait["kind"]
        if kind == "CustomResourceDefinition":
            continue  # cluster-scoped; the CRDs a chart installs are checked by the render itself
        assert (kind, wait["name"], wait["namespace"]) in present, (
            f"roles wait for {wait['kind']}/{wait['name']} in {wait['namespace']}, which "
            f"{chart} {release.version} does not render"
        )


@pytest.mark.parametrize("chart", CHARTS)
def test_every_service_monitor_is_selected_and_finds_its_service(chart, rendered_charts, inventory):
    objects = objects_of(rendered_charts, chart)
    release = inventory["releases"][chart]
    monitors = [o for o in objects if o["kind"] == "ServiceMonitor"]
    assert monitors, f"{chart} exports metrics but renders no ServiceMonitor: nothing scrapes it"
    services = [o for o in objects if o["kind"] == "Service"]
    pods = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
    for monitor in monitors:
        name = monitor["metadata"]["name"]
        labels = monitor["metadata"].get("labels") or {}
        assert PLATFORM_LABELS.items() <= labels.items(), (
            f"ServiceMonitor {name} lacks the label Prometheus selects {PLATFORM_LABELS}"
        )
        spec = monitor["spec"]
        namespaces = (spec.get("namespaceSelector") or {}).get("matchNames") or [
            monitor["metadata"].get("namespace", release.namespace)
        ]
        if release.namespace not in namespaces:
            continue  # scrapes a cluster component (API server, kubelet, CoreDNS), not the chart's
        ports = {e.get("port") or e.get("targetPort") for e in spec["endpoints"]}

        def offers(service, ports=ports):
            names = {p.get("name") for p in service["spec"].get("ports", [])}
            names |= {p.get("targetPort") for p in service["spec"].get("ports", [])}
            for workload in pods:  # targetPort: a container port of the pods behind the Service
                template = workload["spec"]["template"]
                if selector_matches(
                    {"matchLabels": service["spec"].get("selector") or {}},
                    template["metadata"].get("labels"),
                ):
                    names |= {
                        p.get("name")
                        for c in template["spec"]["containers"]
                        for p in c.get("ports") or []
                    }
            return ports & names

        matching = [
            s
            for s in services
            if s["metadata"].get("namespace", release.namespace) in namespaces
            and selector_matches(spec["selector"], s["metadata"].get("labels"))
            and offers(s)
        ]
        assert matching, f"ServiceMonitor {name} selects no Service with a port {sorted(ports)}"


@pytest.mark.parametrize("chart", CHARTS)
def test_irsa_service_accounts_are_the_ones_the_workloads_run_as(chart, rendered_charts, inventory):
    objects = objects_of(rendered_charts, chart)
    release = inventory["releases"][chart]
    arns = set(inventory["infra"]["addon_role_arns"].values())
    irsa = {
        o["metadata"]["name"]: o["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        for o in objects
        if o["kind"] == "ServiceAccount"
        and "eks.amazonaws.com/role-arn" in (o["metadata"].get("annotations") or {})
    }
    used = {
        o["spec"]["template"]["spec"].get("serviceAccountName")
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
    }
    for account, arn in irsa.items():
        assert arn in arns, f"ServiceAccount {account} has role {arn}, not one Terraform made"
        assert account in used, (
            f"ServiceAccount {account} has the IRSA role but no workload uses it"
        )
    role_sets = "eks.amazonaws.com/role-arn" in json.dumps(release.values)
    assert bool(irsa) == role_sets, f"{chart}: the IRSA annotation the role sets is not rendered"


@pytest.mark.parametrize("chart", CHARTS)
def test_read_write_once_volumes_are_never_rolled(chart, rendered_charts, inventory):
    """A RollingUpdate starts the new pod first; it cannot attach the old pod's ReadWriteOnce
    volume (Multi-Attach error), so the upgrade hangs."""
    objects = objects_of(rendered_charts, chart)
    rwo = {
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "PersistentVolumeClaim"
        and "ReadWriteOnce" in o["spec"].get("accessModes", [])
    }
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        claims = {
            v["persistentVolumeClaim"]["claimName"]
            for v in deployment["spec"]["template"]["spec"].get("volumes") or []
            if "persistentVolumeClaim" in v
        }
        if claims & rwo:
            strategy = (deployment["spec"].get("strategy") or {}).get("type", "RollingUpdate")
            assert strategy == "Recreate", (
                f"Deployment {deployment['metadata']['name']} mounts ReadWriteOnce {claims & rwo} "
                f"with strategy {strategy}"
            )


def test_the_alb_ingress_class_params_are_validated_by_the_controller(
    rendered_charts, inventory, cluster
):
    objects = objects_of(rendered_charts, "aws-load-balancer-controller")
    folder = inventory["build"] / "aws-load-balancer-controller-ingress-class"
    own = [load_yaml(f) for f in sorted(folder.glob("manifests/*.yaml"))]
    assert {o["kind"] for o in own} == {"IngressClass", "IngressClassParams"}
    webhooks = [
        w for o in objects if o["kind"] == "ValidatingWebhookConfiguration" for w in o["webhooks"]
    ]
    # the resource names webhook rules use: a CRD's plural, else the built-in's
    plurals = {c["spec"]["names"]["kind"]: c["spec"]["names"]["plural"] for c in cluster["crds"]}
    plurals.setdefault("IngressClass", "ingressclasses")
    checked = set()
    for obj in own:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        resource = plurals[obj["kind"]]
        for webhook in webhooks:
            if not any(
                group in r["apiGroups"] and resource in r["resources"] for r in webhook["rules"]
            ):
                continue
            checked.add(obj["kind"])
            assert selector_matches(webhook.get("objectSelector"), obj["metadata"].get("labels")), (
                f"{obj['kind']}/{obj['metadata']['name']} carries labels that webhook "
                f"{webhook['name']} excludes: {webhook['objectSelector']}"
            )
    assert "IngressClassParams" in checked, (
        "the controller validates IngressClassParams (chart templates/webhook.yaml)"
    )


def test_the_monitoring_wiring(rendered_charts, inventory):
    objects = objects_of(rendered_charts, "kube-prometheus-stack")
    release = inventory["releases"]["kube-prometheus-stack"]
    values = release.values
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    (prometheus,) = by_kind["Prometheus"]
    selector = {"matchLabels": PLATFORM_LABELS}
    for field in ("serviceMonitorSelector", "podMonitorSelector", "ruleSelector", "probeSelector"):
        assert prometheus["spec"][field] == selector, field
    (alertmanager,) = by_kind["Alertmanager"]
    secret = load_yaml(REPO_ROOT / "roles/monitoring/defaults/main.yml")[
        "monitoring_alertmanager_secret_name"
    ]
    assert secret in alertmanager["spec"]["secrets"]
    config = values["alertmanager"]["config"]
    files = [v for k, v in flat(config).items() if k.endswith(".api_url_file")]
    assert files, "the Alertmanager configuration reads no webhook URL from a file"
    for path in files:  # the operator mounts spec.secrets at /etc/alertmanager/secrets/<name>/
        assert path.startswith(f"/etc/alertmanager/secrets/{secret}/"), path
    grafana = [o for o in by_kind["Deployment"] if o["metadata"]["name"].endswith("-grafana")]
    (grafana,) = grafana
    (sidecar,) = [
        c
        for c in grafana["spec"]["template"]["spec"]["containers"]
        if c["name"].endswith("-sc-dashboard")
    ]
    env = {e["name"]: e.get("value") for e in sidecar.get("env") or []}
    dashboards = values["grafana"]["sidecar"]["dashboards"]
    assert (env.get("LABEL"), env.get("LABEL_VALUE")) == (
        dashboards["label"],
        dashboards["labelValue"],
    )
    assert grafana["spec"]["strategy"]["type"] == "Recreate"
    operator = release.pin["crds_source"]["prometheus_operator_version"]
    images = [
        c["image"]
        for o in by_kind["Deployment"]
        if o["metadata"]["name"].endswith("-operator")
        for c in o["spec"]["template"]["spec"]["containers"]
    ]
    assert any(image.endswith(f":{operator}") for image in images), (
        f"the operator runs {images}, the CRD bundle applied is {operator}"
    )


def test_the_crd_bundle_matches_the_crds_the_chart_ships(chart_cache, inventory, cluster):
    release = inventory["releases"]["kube-prometheus-stack"]
    path = chart_path(chart_cache, release)
    operator = release.pin["crds_source"]["prometheus_operator_version"]
    versions = {
        (c["metadata"].get("annotations") or {}).get("operator.prometheus.io/version")
        for c in crds_of(path / "charts" / "crds")
    }
    assert versions == {operator.lstrip("v")}, (
        f"the chart's crds subchart ships operator {versions}, the role applies {operator}"
    )


def test_ingress_class_params_values_are_inert_without_the_chart_ingress_class(
    chart_cache, inventory, cluster, rendered_charts
):
    """The chart reads ingressClassParams.* only when createIngressClassResource is true
    (templates/ingressclass.yaml), so the role must not believe it set anything there: the values
    the role used to set render exactly as without them."""
    objects_of(rendered_charts, "aws-load-balancer-controller")
    release = inventory["releases"]["aws-load-balancer-controller"]
    path = chart_path(chart_cache, release)
    kube, apis = inventory["kubernetes_version"], cluster["api_versions"]
    assert release.values["createIngressClassResource"] is False
    assert "ingressClassParams" not in release.values

    def run(values):
        return fingerprint(render(path, release, values, kube, apis))

    base = run(release.values)
    noise = {k for k, v in run(release.values).items() if base.get(k) != v}  # generated certs
    old = run(deep_merge(release.values, {"ingressClassParams": {"create": False}}))
    assert {k for k in set(base) | set(old) if base.get(k) != old.get(k)} <= noise
    created = run(deep_merge(release.values, {"createIngressClassResource": True}))
    assert any(k.startswith("IngressClassParams/") for k in created), (
        "with createIngressClassResource the chart does create IngressClassParams"
    )


def test_deep_merge_matches_helm_coalescing():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {
        "a": {"c": 2, "d": 3}
    }
