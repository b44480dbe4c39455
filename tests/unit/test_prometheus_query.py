"""prometheus_query against a stub Prometheus (http.server on 127.0.0.1).

The stub answers /api/v1/query from a table keyed by the query text, the way Prometheus encodes
results (values as strings, NaN as "NaN"), so the module's parsing, thresholds and messages are
exercised end to end through main().
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.parse
from typing import ClassVar

import prometheus_query
import pytest
from ansible.module_utils import prometheus as prom

T = 1756720000.0


def vector(*values, labels=None):
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": dict(labels or {}, pod=f"model-api-{i}"), "value": [T, v]}
                for i, v in enumerate(values)
            ],
        },
    }


ANSWERS = {
    "healthy": vector("0.998"),
    "errors": vector("0.87"),
    "two_series": vector("0.999", "0.91"),
    "empty": vector(),
    "nan": vector("NaN"),
    "inf": vector("+Inf"),
    "scalar(1)": {"status": "success", "data": {"resultType": "scalar", "result": [T, "1"]}},
    "up[5m]": {"status": "success", "data": {"resultType": "matrix", "result": []}},
}


class StubPrometheus(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        StubPrometheus.seen.append(
            {"path": url.path, "params": params, "headers": dict(self.headers)}
        )
        if url.path != "/api/v1/query":
            return self._send(404, b"404 page not found", "text/plain")
        query = params.get("query", "")
        if query == "not json":
            return self._send(200, b"<html>login</html>", "text/html")
        if query not in ANSWERS:
            body = {"status": "error", "errorType": "bad_data", "error": f'parse error: "{query}"'}
            return self._send(400, json.dumps(body).encode(), "application/json")
        return self._send(200, json.dumps(ANSWERS[query]).encode(), "application/json")

    def _send(self, code, body, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def prometheus_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubPrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


def query(run_module, url, q, check_mode=False, **kwargs):
    return run_module(prometheus_query.main, dict(url=url, query=q, **kwargs), check_mode)


# ---------------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize(
    ("q", "thresholds", "verdict", "empty", "nan"),
    [
        ("healthy", {"min": 0.99}, "pass", False, False),
        ("errors", {"min": 0.99}, "fail", False, False),
        ("healthy", {"expect": {"op": ">=", "value": 0.99}}, "pass", False, False),
        ("errors", {"expect": {"op": ">", "value": 0.9}}, "fail", False, False),
        ("healthy", {"min": 0.5, "max": 0.999}, "pass", False, False),
        ("healthy", {"max": 0.5}, "fail", False, False),
        ("two_series", {"min": 0.95}, "fail", False, False),
        ("empty", {"min": 0.99}, "none", True, False),
        ("nan", {"min": 0.99}, "none", False, True),
        ("nan", {"max": 0.5}, "none", False, True),
        ("inf", {"max": 0.5}, "fail", False, False),
        ("healthy", {}, "none", False, False),
        ("scalar(1)", {"expect": {"op": "==", "value": 1}}, "pass", False, False),
    ],
)
def test_verdicts(run_module, prometheus_url, q, thresholds, verdict, empty, nan):
    failed, result = query(run_module, prometheus_url, q, **thresholds)
    assert not failed, result
    assert result["changed"] is False
    assert result["reachable"] is True
    assert (result["verdict"], result["empty"], result["nan"]) == (verdict, empty, nan)


def test_values_carry_labels_and_nan_is_json_safe(run_module, prometheus_url):
    _, result = query(run_module, prometheus_url, "nan")
    assert result["value"] == "NaN"
    assert result["values"] == [{"labels": {"pod": "model-api-0"}, "value": "NaN"}]
    _, result = query(run_module, prometheus_url, "two_series")
    assert [v["value"] for v in result["values"]] == [0.999, 0.91]
    assert result["value"] == 0.999
    _, result = query(run_module, prometheus_url, "empty")
    assert result["value"] is None
    assert "empty result" in result["reason"]


def test_a_failing_sample_is_named_in_the_reason(run_module, prometheus_url):
    _, result = query(run_module, prometheus_url, "two_series", min=0.95)
    assert result["reason"] == '{pod="model-api-1"} = 0.91 is not >= 0.95'


def test_fail_on_verdict_fails_the_task_with_the_values(run_module, prometheus_url):
    failed, result = query(run_module, prometheus_url, "errors", min=0.99, fail_on_verdict=True)
    assert failed
    assert (
        result["msg"] == 'Failed to meet the threshold: {pod="model-api-0"} = 0.87 is not >= 0.99'
    )
    assert result["value"] == 0.87
    # none (empty) is not a failure even with fail_on_verdict: nothing to judge
    failed, result = query(run_module, prometheus_url, "empty", min=0.99, fail_on_verdict=True)
    assert not failed
    assert result["verdict"] == "none"


def test_check_mode_queries_too(run_module, prometheus_url):
    failed, result = query(run_module, prometheus_url, "healthy", check_mode=True, min=0.99)
    assert not failed
    assert result["verdict"] == "pass"


def test_query_and_auth_reach_the_server(run_module, prometheus_url):
    StubPrometheus.seen.clear()
    query(run_module, prometheus_url + "/", "healthy", bearer_token="s3cret", time="1756720000")
    request = StubPrometheus.seen[-1]
    assert request["path"] == "/api/v1/query"
    assert request["params"] == {"query": "healthy", "time": "1756720000"}
    assert request["headers"]["Authorization"] == "Bearer s3cret"


# ------------------------------------------------------------------------------------ errors
def test_unreachable_fails_by_default(run_module, closed_port_url):
    failed, result = query(run_module, closed_port_url, "up", timeout=2)
    assert failed
    assert result["msg"].startswith(
        f"Failed to query Prometheus: Prometheus at {closed_port_url} is unreachable:"
    )
    assert result["reachable"] is False


def test_unreachable_is_reported_when_asked_not_to_fail(run_module, closed_port_url):
    failed, result = query(
        run_module, closed_port_url, "up", timeout=2, fail_on_unreachable=False, min=1
    )
    assert not failed
    assert result["reachable"] is False
    assert result["verdict"] == "none"
    assert "unreachable" in result["reason"]


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("sum(", 'Failed to query Prometheus: HTTP 400 from {url}: bad_data: parse error: "sum("'),
        ("not json", "Failed to query Prometheus: {url} did not answer JSON (is it Prometheus?)"),
        (
            "up[5m]",
            "Failed to query Prometheus: the query returned a matrix; "
            "use an instant vector (no [range] at the end)",
        ),
    ],
)
def test_bad_answers_fail_with_clear_messages(run_module, prometheus_url, q, message):
    failed, result = query(run_module, prometheus_url, q, fail_on_unreachable=False)
    assert failed
    assert result["msg"] == message.format(url=prometheus_url)


def test_a_url_without_scheme_is_refused(run_module):
    failed, result = query(run_module, "prometheus:9090", "up")
    assert failed
    assert (
        result["msg"] == "Failed to query Prometheus: url must start with http:// or https:// "
        "(got 'prometheus:9090')"
    )


def test_expect_needs_a_known_operator(run_module, prometheus_url):
    failed, result = query(run_module, prometheus_url, "healthy", expect={"op": "=~", "value": 1})
    assert failed
    assert "op" in result["msg"]


# ------------------------------------------------------------------------------ pure helpers
@pytest.mark.parametrize(
    ("samples", "checks", "verdict"),
    [
        ([], [(">=", 0.99)], "none"),
        ([{"labels": {}, "value": float("nan")}], [(">=", 0.99)], "none"),
        ([{"labels": {}, "value": 0.99}], [(">=", 0.99)], "pass"),
        ([{"labels": {}, "value": 0.98999}], [(">=", 0.99)], "fail"),
        ([{"labels": {}, "value": 0.3}], [("<", 0.5), (">", 0.1)], "pass"),
        ([{"labels": {}, "value": 0.3}], [("!=", 0.3)], "fail"),
        ([{"labels": {}, "value": 0.3}], [], "none"),
    ],
)
def test_judge(samples, checks, verdict):
    assert prom.judge(samples, checks)[0] == verdict


def test_query_url_keeps_a_path_prefix():
    assert prom.query_url("http://h:9090/prometheus/", "up", 5) == (
        "http://h:9090/prometheus/api/v1/query?query=up&time=5"
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [(float("nan"), "NaN"), (float("inf"), "+Inf"), (-float("inf"), "-Inf"), (1.5, 1.5)],
)
def test_json_safe(number, text):
    assert prom.json_safe(number) == text
