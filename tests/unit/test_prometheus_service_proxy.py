"""prometheus_query through the Kubernetes API service proxy (issue 20, finding 4).

deploy.yml used to ask Prometheus at its in-cluster DNS name from the runner, which a CI runner
outside the cluster's network never reaches, so every CI release fell back to the smoke analysis.
Now it asks through the API server, as `kubectl get --raw` would. A stand-in API server serves
the proxy path the real one serves (kubernetes pkg/registry/core/service/storage
ResourceLocation: ``services/<scheme>:<name>:<port>/proxy``, port by number or name) and
answers like it: the Prometheus answer passed through, or a ``Status`` of its own (503 "no
endpoints available for service", RBAC 403). The Prometheus bodies are shaped as Prometheus's
HTTP API documents them (status/data/resultType/result; errors with errorType/error).
"""

from __future__ import annotations

import urllib.parse
from typing import ClassVar

import prometheus_query
import pytest

from tests.support.kube_api import TOKEN, JsonHandler, serve, status

PROXY = (
    "/api/v1/namespaces/monitoring/services/http:kube-prometheus-stack-prometheus:9090"
    "/proxy/api/v1/query"
)
SERVICE = {"namespace": "monitoring", "name": "kube-prometheus-stack-prometheus", "port": "9090"}


ANSWERS = {
    "count(model_api_requests_total)": (
        200,
        {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": {}, "value": [1764529200, "3"]}],
            },
        },
    ),
    "sum(": (
        400,
        {
            "status": "error",
            "errorType": "bad_data",
            "error": "parse error: unexpected end of input",
        },
    ),
    "no endpoints": status(
        503,
        "ServiceUnavailable",
        'no endpoints available for service "kube-prometheus-stack-prometheus"',
    ),
    "forbidden": status(
        403,
        "Forbidden",
        'services "kube-prometheus-stack-prometheus" is forbidden: User "deploy" cannot get '
        'resource "services/proxy" in API group "" in the namespace "monitoring"',
    ),
}


class StubApiServer(JsonHandler):
    requests: ClassVar[list] = []

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append(
            {"path": url.path, "params": params, "auth": self.headers["Authorization"]}
        )
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            code, body = status(401, "Unauthorized", "Unauthorized")
        elif url.path != PROXY:
            code, body = status(404, "NotFound", f"the server could not find {url.path}")
        else:
            code, body = ANSWERS[params["query"]]
        self.send_json(code, body)


@pytest.fixture
def api_server():
    StubApiServer.requests = []
    with serve(StubApiServer) as url:
        yield url


def run(run_module, host, q, **kwargs):
    args = dict(service=SERVICE, host=host, api_key=TOKEN, query=q, **kwargs)
    return run_module(prometheus_query.main, args)


def test_the_query_goes_through_the_service_proxy_with_the_cluster_token(run_module, api_server):
    failed, result = run(run_module, api_server, "count(model_api_requests_total)", min=1)
    assert not failed, result
    assert (result["verdict"], result["value"], result["via"]) == ("pass", 3.0, "service proxy")
    (request,) = StubApiServer.requests
    assert request == {
        "path": PROXY,
        "params": {"query": "count(model_api_requests_total)"},
        "auth": f"Bearer {TOKEN}",
    }


def test_no_ready_prometheus_is_unreachable_with_the_api_servers_reason(run_module, api_server):
    failed, result = run(run_module, api_server, "no endpoints", fail_on_unreachable=False)
    assert not failed
    assert result["reachable"] is False and result["verdict"] == "none"
    assert (
        'no endpoints available for service "kube-prometheus-stack-prometheus"' in result["reason"]
    )


def test_a_forbidden_proxy_names_the_missing_permission(run_module, api_server):
    failed, result = run(run_module, api_server, "forbidden", fail_on_unreachable=False)
    assert not failed and result["reachable"] is False
    assert 'cannot get resource "services/proxy"' in result["reason"]


def test_a_prometheus_error_passes_through_the_proxy(run_module, api_server):
    failed, result = run(run_module, api_server, "sum(", fail_on_unreachable=False)
    assert failed and result["reachable"] is True
    assert "HTTP 400" in result["msg"] and "bad_data: parse error" in result["msg"]


def test_a_dead_api_server_is_unreachable(run_module):
    failed, result = run(
        run_module, "http://127.0.0.1:9", "up", timeout=2, fail_on_unreachable=False
    )
    assert not failed and result["reachable"] is False
    assert "the Kubernetes API did not answer" in result["reason"]


def test_url_and_service_are_exclusive(run_module, api_server):
    failed, result = run(run_module, api_server, "up", url="http://prometheus:9090")
    assert failed and "mutually exclusive" in result["msg"]
