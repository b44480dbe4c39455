"""deploy.yml decides the analysis where Prometheus is reachable (issue 20, finding 4).

playbooks/tasks/deploy_analysis.yml runs through ansible-playbook with only a Kubernetes API
server reachable, as on a CI runner outside the cluster's network: a stand-in API server serves
the recorded Rollout (tests/unit/fixtures/rollout-healthy.yaml, stableRS 7f9c6b5d4c) where the
real one serves custom objects, and Prometheus's answer on the service proxy path
(``/api/v1/namespaces/monitoring/services/http:kube-prometheus-stack-prometheus:9090/proxy``).
Before, the play asked http://kube-prometheus-stack-prometheus.monitoring.svc:9090 from the
runner, which does not resolve there, and always fell back to the smoke analysis.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from tests.support import REPO_ROOT
from tests.support.kube_api import TOKEN, JsonHandler, cluster, status
from tests.support.playbook import run_and_record

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROLLOUT = next(yaml.safe_load_all((FIXTURES / "rollout-healthy.yaml").read_text()))
STABLE = ROLLOUT["status"]["stableRS"]
PROXY = (
    "/api/v1/namespaces/monitoring/services/http:kube-prometheus-stack-prometheus:9090"
    "/proxy/api/v1/query"
)
NO_ENDPOINTS = 'no endpoints available for service "kube-prometheus-stack-prometheus"'
RECORD = "{{ {'analysis': model_api_analysis, 'reason': deploy_analysis_reason} | to_json }}"
ADDRESS = yaml.safe_load((REPO_ROOT / "roles/model_api/defaults/main.yml").read_text())[
    "model_api_prometheus_address"
]


class StubApiServer(JsonHandler):
    prometheus: ClassVar[str] = "ready"  # ready | no-endpoints
    queries: ClassVar[list] = []

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            return self.send_json(*status(401, "Unauthorized", "Unauthorized"))
        base = "/apis/argoproj.io/v1alpha1/namespaces/model-api"
        if url.path == f"{base}/rollouts/model-api":
            return self.send_json(200, ROLLOUT)
        if url.path == f"{base}/analysisruns":
            return self.send_json(200, {"kind": "AnalysisRunList", "items": [], "metadata": {}})
        if url.path == PROXY:
            self.queries.append(dict(urllib.parse.parse_qsl(url.query))["query"])
            if self.prometheus == "no-endpoints":
                return self.send_json(*status(503, "ServiceUnavailable", NO_ENDPOINTS))
            sample = {"metric": {}, "value": [1764529200, "4"]}
            return self.send_json(
                200, {"status": "success", "data": {"resultType": "vector", "result": [sample]}}
            )
        return self.send_json(*status(404, "NotFound", f"no {url.path}"))


@pytest.fixture
def kubeconfig(tmp_path):
    StubApiServer.queries = []
    with cluster(tmp_path, StubApiServer, TOKEN, user="deploy") as path:
        yield path


def decide(tool_env, tmp_path, kubeconfig):
    recorded = run_and_record(
        tool_env,
        tmp_path,
        RECORD,
        vars={
            "platform_k8s_render": False,
            "platform_kubeconfig": str(kubeconfig),
            "deploy_namespace": "model-api",
            "deploy_name": "model-api",
            "model_api_prometheus_address": ADDRESS,
        },
        tasks=[
            {
                "ansible.builtin.include_tasks": str(
                    REPO_ROOT / "playbooks/tasks/deploy_analysis.yml"
                )
            }
        ],
    )
    return json.loads(recorded)


def test_a_runner_with_only_the_api_server_gets_the_prometheus_analysis(
    tool_env, tmp_path, kubeconfig
):
    StubApiServer.prometheus = "ready"
    decision = decide(tool_env, tmp_path, kubeconfig)
    assert decision["analysis"] == "prometheus", decision
    assert "through the Kubernetes API service proxy" in decision["reason"]
    (query,) = StubApiServer.queries
    assert f'rollouts_pod_template_hash="{STABLE}"' in query


def test_prometheus_without_endpoints_falls_back_and_says_why(tool_env, tmp_path, kubeconfig):
    StubApiServer.prometheus = "no-endpoints"
    decision = decide(tool_env, tmp_path, kubeconfig)
    assert decision["analysis"] == "fallback"
    assert decision["reason"].startswith(
        "Prometheus unreachable at Service monitoring/kube-prometheus-stack-prometheus:9090 "
        "through the Kubernetes API service proxy"
    )
    assert "no endpoints available for service" in decision["reason"]
