"""The upstream chart data (../shared/charts), the roles' chart pins and the values the inventory
renders: shared by the chart tests and by chart_cache.py (which builds a local chart cache).

Where each chart comes from upstream is in UPSTREAM below; ../shared/charts/README.md says how its
data was taken (same repositories and tags).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_CHARTS = Path(
    os.environ.get("PLATFORM_CHART_DATA") or REPO_ROOT.parent / "shared" / "charts"
)
CHART_CACHE_ENV = "PLATFORM_CHART_CACHE"
# A render folder the add-ons stage already wrote (e.g. build/local after `make site`); unset = the
# tests render the stage themselves.
RENDERED_ENV = "PLATFORM_RENDERED_DIR"
VERSION_VAR_RE = re.compile(r"^(?P<var>[a-z0-9_]+_chart_version):\s*\"?(?P<version>[^\"\s#]+)\"?")


@dataclass(frozen=True)
class Upstream:
    """Where a chart's source lives: repository, release tag (``{version}`` filled in) and folder.

    ``tag`` None means the repository tags itself, not the chart (aws/eks-charts ``v0.0.N``): the
    tag is the first one whose Chart.yaml holds the version, as ../shared/charts/README.md says.
    """

    repository: str
    tag: str | None
    path: str
    stamp_version: bool = False  # Chart.yaml holds v0.0.0 placeholders that release tooling fills


UPSTREAM = {
    "argo-rollouts": Upstream(
        "argoproj/argo-helm", "argo-rollouts-{version}", "charts/argo-rollouts"
    ),
    "aws-load-balancer-controller": Upstream(
        "aws/eks-charts", None, "stable/aws-load-balancer-controller"
    ),
    "cert-manager": Upstream(
        "cert-manager/cert-manager", "{version}", "deploy/charts/cert-manager", stamp_version=True
    ),
    "cluster-autoscaler": Upstream(
        "kubernetes/autoscaler",
        "cluster-autoscaler-chart-{version}",
        "cluster-autoscaler/charts/cluster-autoscaler",
    ),
    "metrics-server": Upstream(
        "kubernetes-sigs/metrics-server",
        "metrics-server-helm-chart-{version}",
        "charts/metrics-server",
    ),
    "external-secrets": Upstream(
        "external-secrets/external-secrets",
        "helm-chart-{version}",
        "deploy/charts/external-secrets",
    ),
    "kube-prometheus-stack": Upstream(
        "prometheus-community/helm-charts",
        "kube-prometheus-stack-{version}",
        "charts/kube-prometheus-stack",
    ),
    # Dependencies of the charts above (folder charts/<name> of the parent)
    "bitwarden-sdk-server": Upstream(
        "external-secrets/bitwarden-sdk-server",
        "{version}",
        "deploy/charts/bitwarden-sdk-server",
        stamp_version=True,
    ),
    "kube-state-metrics": Upstream(
        "prometheus-community/helm-charts",
        "kube-state-metrics-{version}",
        "charts/kube-state-metrics",
    ),
    "prometheus-node-exporter": Upstream(
        "prometheus-community/helm-charts",
        "prometheus-node-exporter-{version}",
        "charts/prometheus-node-exporter",
    ),
    "prometheus-windows-exporter": Upstream(
        "prometheus-community/helm-charts",
        "prometheus-windows-exporter-{version}",
        "charts/prometheus-windows-exporter",
    ),
    "grafana": Upstream("grafana/helm-charts", "grafana-{version}", "charts/grafana"),
}


# ---------------------------------------------------------------------------------------------
# Pins in the roles
@dataclass(frozen=True)
class Pin:
    role: str
    var: str
    version: str
    line: str
    comment_above: str


def role_chart_pins() -> list[Pin]:
    """Every ``*_chart_version`` of roles/*/defaults/main.yml, with the comment above it."""
    pins = []
    for defaults in sorted(REPO_ROOT.glob("roles/*/defaults/main.yml")):
        lines = defaults.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = VERSION_VAR_RE.match(line)
            if not match:
                continue
            above = []
            for previous in reversed(lines[:index]):
                if not previous.startswith("#"):
                    break
                above.insert(0, previous)
            pins.append(
                Pin(
                    defaults.parts[-3],
                    match["var"],
                    match["version"],
                    line,
                    "\n".join(above),
                )
            )
    return pins


# ---------------------------------------------------------------------------------------------
# ../shared/charts
@dataclass(frozen=True)
class Release:
    version: str
    date: str
    app_version: str


def releases(chart: str) -> dict[str, Release]:
    path = SHARED_CHARTS / chart / "releases.txt"
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        version, date, app_version = line.split("\t")
        out[version] = Release(version, date, app_version)
    return out


def data_folder(chart: str, version: str) -> Path:
    return SHARED_CHARTS / chart / version


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# ---------------------------------------------------------------------------------------------
# Values the inventory renders
@dataclass(frozen=True)
class RenderedRelease:
    component: str
    name: str
    namespace: str
    chart: str
    repo_url: str
    version: str
    values: dict
    pin: dict


def addons_build(dest: Path, env: dict[str, str]) -> Path:
    """The render folder of the add-ons stage: RENDERED_ENV's, else rendered into dest now."""
    if os.environ.get(RENDERED_ENV):
        return Path(os.environ[RENDERED_ENV])
    render_addons(dest, env)
    return dest / "build"


def render_addons(dest: Path, env: dict[str, str], inventory: str = "inventories/local") -> str:
    """Run the add-ons stage in render mode (as `make site` does) into dest; return its output.

    platform_infra comes from the Molecule fixture (what the infra stage returns on emulated AWS),
    so the stage runs without Terraform.
    """
    command = [
        "ansible-playbook",
        "-i",
        inventory,
        "playbooks/addons.yml",
        "-e",
        "@molecule/shared/platform_infra.yml",
        "-e",
        "platform_k8s_mode=render",
        "-e",
        f"platform_render_dir={dest / 'build'}",
        "-e",
        f"platform_build_dir={dest / 'work'}",
    ]
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"the add-ons stage failed to render:\n{output[-6000:]}")
    return output


def rendered_releases(build: Path) -> list[RenderedRelease]:
    """Every Helm release under a render folder (<component>/helm/<release>.release.yaml)."""
    out = []
    for pin_file in sorted(build.glob("*/helm/*.release.yaml")):
        pin = load_yaml(pin_file)
        values_file = pin_file.with_name(pin_file.name.replace(".release.yaml", ".values.yaml"))
        out.append(
            RenderedRelease(
                component=pin_file.parent.parent.name,
                name=pin["name"],
                namespace=pin["namespace"],
                chart=pin["chart_ref"],
                repo_url=pin["chart_repo_url"],
                version=str(pin["chart_version"]),
                values=load_yaml(values_file) or {},
                pin=pin,
            )
        )
    return out


def deep_merge(base, override):
    """Helm's coalescing of user values over chart defaults (maps merge, everything else replaces;
    null deletes the key)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Which chart each pin variable installs; a new pin must be added here (test_every_pin_is_known).
PIN_CHARTS = {
    "argo_rollouts_chart_version": "argo-rollouts",
    "aws_load_balancer_controller_chart_version": "aws-load-balancer-controller",
    "cert_manager_chart_version": "cert-manager",
    "cluster_autoscaling_chart_version": "cluster-autoscaler",
    "cluster_autoscaling_metrics_server_chart_version": "metrics-server",
    "external_secrets_chart_version": "external-secrets",
    "monitoring_chart_version": "kube-prometheus-stack",
}


def cached_chart(cache: Path, chart: str, version: str) -> Path:
    """Where a chart cache holds one chart version: <cache>/<chart>/<version>/Chart.yaml."""
    return cache / chart / version
