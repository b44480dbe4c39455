# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers for Prometheus instant queries (no Ansible import, standard library only).

``instant_query`` calls /api/v1/query with urllib (the module can also go through the
Kubernetes API service proxy, then ``decode_answer``/``http_error`` read the answer the same
way); ``parse_result`` turns the answer into
samples; ``judge`` applies thresholds and returns the verdict pass/fail/none. The rules match
the canary analysis semantics (docs/ADRs/0005-analysis-semantics.md): an empty result or a NaN
cannot be judged, so the verdict is ``none`` (inconclusive), never pass or fail.
"""

from __future__ import annotations

import json
import math
import operator
import urllib.error
import urllib.parse
import urllib.request

OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

PASS, FAIL, NONE = "pass", "fail", "none"


class PrometheusError(Exception):
    """Prometheus answered, but not with a usable result (bad query, bad JSON, error status)."""


class PrometheusUnreachable(PrometheusError):
    """No answer at all: connection refused, DNS, timeout, TLS."""


def query_url(base_url, query, at=None):
    """The /api/v1/query URL for base_url (a Prometheus root, with or without a path prefix)."""
    params = {"query": query}
    if at is not None:
        params["time"] = str(at)
    return base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)


def instant_query(base_url, query, at=None, timeout=10, headers=None, context=None):
    """GET /api/v1/query; returns the decoded JSON 'data' object."""
    if not base_url.startswith(("http://", "https://")):
        raise PrometheusError(f"url must start with http:// or https:// (got {base_url!r})")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        query_url(base_url, query, at), headers=dict(headers or {}, Accept="application/json")
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise http_error(base_url, exc.code, exc.read()) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusUnreachable(f"Prometheus at {base_url} is unreachable: {reason}") from exc
    return decode_answer(base_url, body)


def query_params(query, at=None):
    """The query string parameters of /api/v1/query, as (name, value) pairs."""
    return [("query", query)] + ([("time", str(at))] if at is not None else [])


def http_error(source, code, body):
    """The PrometheusError for an HTTP error answer: Prometheus answers 400/422/503 with a JSON
    error body (errorType, error), which is reported."""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    try:
        doc = json.loads(body or b"")
        reason = f"{doc.get('errorType', 'error')}: {doc.get('error', '')}"
    except (ValueError, AttributeError):
        reason = (body or b"")[:200].decode("utf-8", "replace")
    return PrometheusError(f"HTTP {code} from {source}: {reason}")


def decode_answer(source, body):
    """The 'data' object of a successful /api/v1/query answer."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise PrometheusError(f"{source} did not answer JSON (is it Prometheus?)") from exc
    if not isinstance(doc, dict) or doc.get("status") != "success":
        error = doc.get("error") if isinstance(doc, dict) else doc
        raise PrometheusError(f"query failed: {error}")
    return doc.get("data") or {}


def service_proxy_path(namespace, name, port, scheme="http"):
    """The Kubernetes API service proxy path of a Service port: ``/api/v1/namespaces/<ns>/
    services/<scheme>:<name>:<port>/proxy`` (the API server accepts a port name or number,
    kubernetes pkg/registry/core/service/storage ResourceLocation)."""
    return f"/api/v1/namespaces/{namespace}/services/{scheme}:{name}:{port}/proxy"


def _float(text):
    """Prometheus encodes sample values as strings: "1.5", "NaN", "+Inf", "-Inf"."""
    try:
        return float(text)
    except (TypeError, ValueError) as exc:
        raise PrometheusError(f"sample value {text!r} is not a number") from exc


def parse_result(data):
    """(result_type, samples) where samples = [{'labels': {...}, 'value': float}].

    Vectors give one sample per series, a scalar one sample without labels; matrices (range
    selectors) are refused: an instant check needs one value per series.
    """
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type == "vector":
        return result_type, [
            {"labels": item.get("metric") or {}, "value": _float(item["value"][1])}
            for item in result or []
        ]
    if result_type == "scalar":
        return result_type, [{"labels": {}, "value": _float(result[1])}]
    if result_type == "string":
        raise PrometheusError("the query returned a string, not a number")
    raise PrometheusError(
        f"the query returned a {result_type}; use an instant vector (no [range] at the end)"
    )


def thresholds(minimum=None, maximum=None, expect=None):
    """Normalise the module options into [(op, value)]."""
    checks = []
    if minimum is not None:
        checks.append((">=", float(minimum)))
    if maximum is not None:
        checks.append(("<=", float(maximum)))
    if expect:
        op = expect.get("op")
        if op not in OPERATORS:
            raise PrometheusError(f"expect.op must be one of {sorted(OPERATORS)} (got {op!r})")
        if expect.get("value") is None:
            raise PrometheusError("expect.value is required with expect.op")
        checks.append((op, float(expect["value"])))
    return checks


def judge(samples, checks):
    """Verdict and reason: none (empty, a NaN, or no thresholds), else pass when every sample
    meets every threshold, fail otherwise."""
    if not samples:
        return NONE, "empty result: no series matched (no data, no traffic), cannot judge"
    if any(math.isnan(s["value"]) for s in samples):
        return NONE, "the result is NaN (e.g. 0/0: no traffic in the window), cannot judge"
    if not checks:
        return NONE, "no thresholds given"
    for sample in samples:
        for op, value in checks:
            if not OPERATORS[op](sample["value"], value):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample["labels"].items()))
                return FAIL, f"{{{labels}}} = {sample['value']:g} is not {op} {value:g}"
    return PASS, "every sample meets " + " and ".join(f"{op} {v:g}" for op, v in checks)


def json_safe(number):
    """NaN and infinities as strings (JSON has no NaN); other numbers unchanged."""
    if number is None or math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
