#!/usr/bin/python
# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prometheus_query
short_description: Run a Prometheus instant query and judge it against thresholds
description:
  - Calls C(/api/v1/query) of a Prometheus server (standard library only) and returns the samples.
  - With I(min), I(max) or I(expect) it also returns a I(verdict) C(pass) or C(fail).
  - An empty result or a NaN cannot be judged; the verdict is then C(none), with I(empty) or
    I(nan) set, the same rule as the canary analysis (docs/ADRs/0005-analysis-semantics.md).
  - An unreachable Prometheus fails the task unless I(fail_on_unreachable=false), which returns
    C(reachable=false) instead.
  - Read-only, so it runs unchanged in check mode.
  - With I(service) instead of I(url) it goes through the Kubernetes API service proxy
    (C(/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy)) with the cluster
    credentials, so it works wherever the API server is reachable, e.g. from a CI runner outside
    the cluster's network. The identity needs C(get) on C(services/proxy) in that namespace.
options:
  url:
    description:
      - Prometheus base URL, for example C(http://kube-prometheus-stack-prometheus.monitoring.svc:9090).
      - Exactly one of I(url) and I(service).
    type: str
  service:
    description: The Prometheus Service, reached through the Kubernetes API service proxy.
    type: dict
    suboptions:
      namespace:
        description: Namespace of the Service.
        type: str
        required: true
      name:
        description: Name of the Service.
        type: str
        required: true
      port:
        description: Service port, by number or name.
        type: str
        required: true
      scheme:
        description: Scheme the proxy speaks to the pods.
        type: str
        default: http
        choices: [http, https]
  query:
    description: PromQL expression returning an instant vector or a scalar.
    type: str
    required: true
  time:
    description: Evaluation time (RFC 3339 or Unix seconds); now when omitted.
    type: str
  min:
    description: Every sample must be greater than or equal to this.
    type: float
  max:
    description: Every sample must be less than or equal to this.
    type: float
  expect:
    description: One comparison every sample must satisfy.
    type: dict
    suboptions:
      op:
        description: Comparison.
        type: str
        required: true
        choices: ['<', '<=', '>', '>=', '==', '!=']
      value:
        description: Right-hand side.
        type: float
        required: true
  fail_on_verdict:
    description: Fail the task when the verdict is C(fail).
    type: bool
    default: false
  fail_on_unreachable:
    description: Fail when Prometheus cannot be reached; else return C(reachable=false).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the answer.
    type: int
    default: 10
  bearer_token:
    description: Sent as an C(Authorization) bearer header when set.
    type: str
  headers:
    description: Extra HTTP headers.
    type: dict
extends_documentation_fragment: [platform_k8s]
notes:
  - I(validate_certs) applies to the https I(url) of Prometheus, or with I(service) to the API
    server. The cluster connection options are used only with I(service).
requirements: [kubernetes (only with I(service))]
author: Platform team
"""

EXAMPLES = r"""
- name: Find out whether the service's metrics reach Prometheus
  prometheus_query:
    url: http://kube-prometheus-stack-prometheus.monitoring.svc:9090
    query: count(model_api_requests_total{namespace="model-api", service="model-api"})
    expect: {op: ">", value: 0}
    fail_on_unreachable: false
  register: metrics_ready

- name: Ask Prometheus through the Kubernetes API, from outside the cluster's network
  prometheus_query:
    service: {namespace: monitoring, name: kube-prometheus-stack-prometheus, port: "9090"}
    kubeconfig: build/aws-dev/kubeconfig
    query: count(model_api_requests_total)
    expect: {op: ">", value: 0}
    fail_on_unreachable: false

- name: Ensure the error ratio of the last 5 minutes is below 1 %
  prometheus_query:
    url: "{{ prometheus_url }}"
    query: >-
      sum(rate(model_api_requests_total{status=~"5.."}[5m]))
      / sum(rate(model_api_requests_total[5m]))
    max: 0.01
    fail_on_verdict: true
"""

RETURN = r"""
reachable:
  description: Prometheus answered.
  returned: always
  type: bool
value:
  description: The first sample's value (NaN and infinities as strings), null when empty.
  returned: when reachable
  type: raw
  sample: 0.998
values:
  description: Every sample, C({labels, value}).
  returned: when reachable
  type: list
  elements: dict
result_type:
  description: vector or scalar.
  returned: when reachable
  type: str
empty:
  description: No series matched.
  returned: when reachable
  type: bool
nan:
  description: At least one sample is NaN.
  returned: when reachable
  type: bool
verdict:
  description: pass, fail, or none (no thresholds, empty or NaN).
  returned: always
  type: str
reason:
  description: Why the verdict is what it is, or why Prometheus is unreachable.
  returned: always
  type: str
via:
  description: How Prometheus was reached, C(url) or C(service proxy).
  returned: always
  type: str
"""

import json
import math
import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.platform_k8s import (
    K8S_CONNECTION_ARGS,
    ApiUnreachableError,
    K8sClient,
    PlatformModuleError,
    connection_params,
)
from ansible.module_utils.prometheus import (
    FAIL,
    NONE,
    PrometheusError,
    PrometheusUnreachable,
    decode_answer,
    http_error,
    instant_query,
    json_safe,
    judge,
    parse_result,
    query_params,
    service_proxy_path,
    thresholds,
)

# Answers of the API server itself (not of Prometheus) through the proxy: the Service or its
# port is missing, no ready endpoint (503 "no endpoints available for service"), the identity
# may not proxy, or the proxy could not connect. Prometheus answers /api/v1/query with
# 200/400/422/503 JSON bodies (its errorType/error), which http_error reports.
PROXY_TROUBLE = {401, 403, 404, 502, 503, 504}


def proxy_query(params, client=None):
    """The 'data' of /api/v1/query through the Kubernetes API service proxy."""
    service = params["service"]
    path = service_proxy_path(
        service["namespace"], service["name"], service["port"], service["scheme"]
    )
    source = f"Service {service['namespace']}/{service['name']}:{service['port']} (API proxy)"
    try:
        client = client or K8sClient(connection_params(params))
        status, body = client.service_proxy_get(
            path + "/api/v1/query", query_params(params["query"], params["time"]), params["timeout"]
        )
    except ApiUnreachableError as exc:
        raise PrometheusUnreachable(f"Prometheus at {source} is unreachable: {exc}") from exc
    except PlatformModuleError as exc:
        raise PrometheusUnreachable(f"Prometheus at {source} is unreachable: {exc}") from exc
    if 200 <= status < 300:
        return decode_answer(source, body)
    if status in PROXY_TROUBLE and not _is_prometheus_error(body):
        raise PrometheusUnreachable(
            f"Prometheus at {source} is unreachable: {http_error(source, status, body)}: "
            f"{_status_message(body)}"
        )
    raise http_error(source, status, body)


def _is_prometheus_error(body):
    try:
        doc = json.loads(body or b"")
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("status") == "error" and "errorType" in doc


def _status_message(body):
    """The message of a Kubernetes Status answer, else the start of the body."""
    try:
        doc = json.loads(body or b"")
        if isinstance(doc, dict) and doc.get("kind") == "Status":
            return doc.get("message") or doc.get("reason") or ""
    except ValueError:
        pass
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return (body or "")[:200]


def query(params, client=None):
    """Run the query and judge it; returns the result dict. Raises PrometheusError."""
    checks = thresholds(params["min"], params["max"], params["expect"])
    if params["service"]:
        data = proxy_query(params, client)
    else:
        headers = dict(params["headers"] or {})
        if params["bearer_token"]:
            headers["Authorization"] = f"Bearer {params['bearer_token']}"
        context = None
        if params["url"].startswith("https://") and not params["validate_certs"]:
            context = ssl._create_unverified_context()  # noqa: S323 - the user asked for it
        data = instant_query(
            params["url"], params["query"], params["time"], params["timeout"], headers, context
        )
    result_type, samples = parse_result(data)
    verdict, reason = judge(samples, checks)
    return dict(
        reachable=True,
        result_type=result_type,
        values=[{"labels": s["labels"], "value": json_safe(s["value"])} for s in samples],
        value=json_safe(samples[0]["value"]) if samples else None,
        empty=not samples,
        nan=any(math.isnan(s["value"]) for s in samples),
        verdict=verdict,
        reason=reason,
        via="service proxy" if params["service"] else "url",
    )


def main():
    argument_spec = dict(
        url=dict(type="str"),
        service=dict(
            type="dict",
            options=dict(
                namespace=dict(type="str", required=True),
                name=dict(type="str", required=True),
                port=dict(type="str", required=True),
                scheme=dict(type="str", default="http", choices=["http", "https"]),
            ),
        ),
        query=dict(type="str", required=True),
        time=dict(type="str"),
        min=dict(type="float"),
        max=dict(type="float"),
        expect=dict(
            type="dict",
            options=dict(
                op=dict(type="str", required=True, choices=["<", "<=", ">", ">=", "==", "!="]),
                value=dict(type="float", required=True),
            ),
        ),
        fail_on_verdict=dict(type="bool", default=False),
        fail_on_unreachable=dict(type="bool", default=True),
        timeout=dict(type="int", default=10),
        bearer_token=dict(type="str", no_log=True),
        headers=dict(type="dict"),
        **K8S_CONNECTION_ARGS,
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("url", "service")],
        required_one_of=[("url", "service")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = query(params)
    except PrometheusUnreachable as exc:
        if params["fail_on_unreachable"]:
            module.fail_json(msg=f"Failed to query Prometheus: {exc}", reachable=False)
        module.exit_json(
            changed=False,
            reachable=False,
            verdict=NONE,
            reason=str(exc),
            via="service proxy" if params["service"] else "url",
        )
    except PrometheusError as exc:
        module.fail_json(msg=f"Failed to query Prometheus: {exc}", reachable=True)
    if params["fail_on_verdict"] and result["verdict"] == FAIL:
        module.fail_json(msg=f"Failed to meet the threshold: {result['reason']}", **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
