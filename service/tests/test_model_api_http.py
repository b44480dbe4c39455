"""HTTP behaviour of every endpoint and every error."""

from __future__ import annotations

import io
import json
import logging
import math
from pathlib import Path

import pytest
from model_api_testing import GOOD_ROW, KEY, OTHER_KEY, SyncApi, write_keys

from model_api import app as app_module
from model_api.app import ACCESS_LOG_KEY, STATE_KEY
from model_api.logs import JsonFormatter
from model_api.model import load_packaged_model


def expected_probability(row: list[float]) -> float:
    model = load_packaged_model()
    z = model.bias + sum(w * x for w, x in zip(model.weights, row, strict=True))
    return 1 / (1 + math.exp(-z))


def assert_error(reply, status: int, code: str) -> dict:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == reply.headers["X-Request-ID"]
    assert b"Traceback" not in reply.body
    return error


# ------------------------------------------------------------------------------- probes, info
def test_healthz(api: SyncApi) -> None:
    reply = api.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


def test_readyz_ready_then_draining(api: SyncApi) -> None:
    assert api.request("GET", "/readyz").json() == {"status": "ready"}
    api.app[STATE_KEY].draining = True
    reply = api.request("GET", "/readyz")
    assert reply.status == 503
    assert reply.json() == {"status": "draining"}
    # Still serving while draining, but asking clients to reconnect elsewhere.
    predicted = api.predict({"instances": [GOOD_ROW]})
    assert predicted.status == 200
    assert predicted.headers.get("Connection", "").lower() == "close"


def test_version(make_api) -> None:
    reply = make_api(git_sha="abc1234").request("GET", "/version")
    assert reply.status == 200
    body = reply.json()
    model = load_packaged_model()
    assert body["model_version"] == model.version
    assert body["model_name"] == model.name
    assert body["git_sha"] == "abc1234"
    assert body["service_version"]


# ------------------------------------------------------------------------------------ predict
def test_predict_returns_probabilities_and_model_version(api: SyncApi) -> None:
    rows = [GOOD_ROW, [0] * 8, [-3, 2, 1, -1, 0, 0, 5, -2]]
    reply = api.predict({"instances": rows})
    assert reply.status == 200
    body = reply.json()
    assert body["model_version"] == load_packaged_model().version
    assert len(body["predictions"]) == 3
    for got, row in zip(body["predictions"], rows, strict=True):
        assert got == pytest.approx(expected_probability(row), rel=1e-12)
        assert 0 <= got <= 1


def test_predict_extreme_but_allowed_values_stay_finite(api: SyncApi) -> None:
    reply = api.predict({"instances": [[1e12] * 8, [-1e12] * 8]})
    assert reply.status == 200
    assert all(math.isfinite(p) for p in reply.json()["predictions"])


def test_request_id_is_honoured_when_sane(api: SyncApi) -> None:
    reply = api.request("GET", "/healthz", headers={"X-Request-ID": "abc-123.def"})
    assert reply.headers["X-Request-ID"] == "abc-123.def"


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "<script>", "-leading-dash"])
def test_request_id_is_replaced_when_not_sane(api: SyncApi, bad: str) -> None:
    reply = api.request("GET", "/healthz", headers={"X-Request-ID": bad})
    generated = reply.headers["X-Request-ID"]
    assert generated != bad
    assert len(generated) == 32


# --------------------------------------------------------------------------------------- auth
def test_missing_key_is_401_with_www_authenticate(api: SyncApi) -> None:
    reply = api.predict({"instances": [GOOD_ROW]}, key=None)
    assert_error(reply, 401, "unauthorized")
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer wrong-key", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", f"Token {KEY}"]
)
def test_wrong_key_or_scheme_is_401(api: SyncApi, header: str) -> None:
    reply = api.predict({"instances": [GOOD_ROW]}, key=None, headers={"Authorization": header})
    assert_error(reply, 401, "unauthorized")
    assert "Bearer" in reply.headers["WWW-Authenticate"]


def test_every_configured_key_is_accepted(api: SyncApi) -> None:
    assert api.predict({"instances": [GOOD_ROW]}, key=KEY).status == 200
    assert api.predict({"instances": [GOOD_ROW]}, key=OTHER_KEY).status == 200


def test_auth_can_be_disabled(make_api) -> None:
    api = make_api(auth_enabled=False, api_keys_file="/nonexistent/keys.json")
    assert api.predict({"instances": [GOOD_ROW]}, key=None).status == 200


def test_key_rotation_without_restart(api: SyncApi, keys_file: Path) -> None:
    assert api.predict({"instances": [GOOD_ROW]}, key=KEY).status == 200
    write_keys(keys_file, "rotated-key")
    assert api.wait_until(
        lambda: api.predict({"instances": [GOOD_ROW]}, key="rotated-key").status == 200
    )
    assert_error(api.predict({"instances": [GOOD_ROW]}, key=KEY), 401, "unauthorized")
    assert_error(api.predict({"instances": [GOOD_ROW]}, key=OTHER_KEY), 401, "unauthorized")


def test_broken_key_file_keeps_the_previous_keys(api: SyncApi, keys_file: Path) -> None:
    keys_file.write_text("{not json")
    write_keys(keys_file.with_name("other.json"), "x")  # unrelated file: nothing changes
    api.wait_until(lambda: False, timeout=0.3)  # let the watcher see the broken file
    assert api.predict({"instances": [GOOD_ROW]}, key=KEY).status == 200
    keys_file.unlink()
    api.wait_until(lambda: False, timeout=0.3)
    assert api.predict({"instances": [GOOD_ROW]}, key=KEY).status == 200


# ----------------------------------------------------------------------------- request errors
@pytest.mark.parametrize(
    "data",
    [b"{", b"not json", b"", b'{"instances": [[1,2]', b"\xff\xfe\x00", b"[" * 100_000],
    ids=["truncated", "text", "empty", "unclosed", "not-utf8", "deep-nesting"],
)
def test_malformed_json_is_400(make_api, data: bytes) -> None:
    api = make_api(max_body_bytes=1_000_000)
    reply = api.predict(key=KEY, data=data, headers={"Content-Type": "application/json"})
    assert_error(reply, 400, "malformed_json")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([GOOD_ROW], "JSON object"),
        ({}, "'instances'"),
        ({"instances": "x"}, "'instances'"),
        ({"instances": {}}, "'instances'"),
        ({"instances": []}, "must not be empty"),
        ({"instances": [5]}, "instances[0]"),
        ({"instances": [GOOD_ROW, GOOD_ROW[:3]]}, "instances[1] has 3 features"),
        ({"instances": [[*GOOD_ROW[:7], "1"]]}, "instances[0][7] must be a number, not a string"),
        ({"instances": [[*GOOD_ROW[:7], True]]}, "not a boolean"),
        ({"instances": [[*GOOD_ROW[:7], None]]}, "not null"),
        ({"instances": [[*GOOD_ROW[:7], [1]]]}, "not an array"),
        ({"instances": [[*GOOD_ROW[:7], 1e13]]}, "finite number"),
        ({"instances": [[*GOOD_ROW[:7], 10**30]]}, "finite number"),
    ],
)
def test_invalid_input_is_422(api: SyncApi, body, fragment: str) -> None:
    error = assert_error(api.predict(body), 422, "invalid_input")
    assert fragment in error["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_422(api: SyncApi, literal: str) -> None:
    data = '{"instances": [[0, 0, 0, 0, 0, 0, 0, %s]]}' % literal  # noqa: UP031 - JSON template
    reply = api.predict(key=KEY, data=data, headers={"Content-Type": "application/json"})
    error = assert_error(reply, 422, "invalid_input")
    assert "finite" in error["message"]


def test_batch_limit_is_422(make_api) -> None:
    api = make_api(max_batch=4)
    assert api.predict({"instances": [GOOD_ROW] * 4}).status == 200
    error = assert_error(api.predict({"instances": [GOOD_ROW] * 5}), 422, "limit_exceeded")
    assert "MODEL_API_MAX_BATCH" in error["message"]


def test_feature_limit_is_422(make_api) -> None:
    api = make_api(max_features=8)
    error = assert_error(api.predict({"instances": [[*GOOD_ROW, 1.0]]}), 422, "limit_exceeded")
    assert "MODEL_API_MAX_FEATURES" in error["message"]


def test_body_too_large_is_413(make_api) -> None:
    api = make_api(max_body_bytes=2048)
    error = assert_error(api.predict({"instances": [GOOD_ROW] * 100}), 413, "body_too_large")
    assert "MODEL_API_MAX_BODY_BYTES" in error["message"]


def test_chunked_body_too_large_is_413(make_api) -> None:
    api = make_api(max_body_bytes=2048)

    async def chunks():
        for _ in range(10):
            yield b" " * 1000

    reply = api.predict(key=KEY, data=chunks(), headers={"Content-Type": "application/json"})
    assert_error(reply, 413, "body_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(api: SyncApi, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    data = json.dumps({"instances": [GOOD_ROW]}).encode()
    reply = api.predict(key=KEY, data=data, headers=headers)
    assert_error(reply, 415, "unsupported_media_type")


def test_json_with_charset_is_accepted(api: SyncApi) -> None:
    data = json.dumps({"instances": [GOOD_ROW]})
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert api.predict(key=KEY, data=data, headers=headers).status == 200


def test_auth_is_checked_before_the_body(api: SyncApi) -> None:
    reply = api.predict(key=None, data=b"{", headers={"Content-Type": "text/plain"})
    assert_error(reply, 401, "unauthorized")


def test_unknown_route_is_404(api: SyncApi) -> None:
    assert_error(api.request("GET", "/no/such/thing"), 404, "not_found")


def test_wrong_method_is_405(api: SyncApi) -> None:
    reply = api.request("GET", "/v1/predict")
    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == "POST"


# ------------------------------------------------------------------------ unexpected failures
def test_unexpected_exception_is_json_500_and_logged_with_request_id(
    api: SyncApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(self, *args):
        raise RuntimeError("secret internal detail")

    # Both ways to a prediction: the checked fast path and predict() after validation.
    for method in ("predict", "predict_checked"):
        monkeypatch.setattr(type(api.app[app_module.MODEL_KEY]), method, explode)
    with caplog.at_level(logging.INFO):
        reply = api.predict({"instances": [GOOD_ROW]}, headers={"X-Request-ID": "req-500"})
    assert_error(reply, 500, "internal_error")
    assert b"secret internal detail" not in reply.body
    errors = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert errors
    assert errors[0].fields["request_id"] == "req-500"
    assert errors[0].fields["error_type"] == "RuntimeError"


def test_secrets_are_never_logged(api: SyncApi, caplog: pytest.LogCaptureFixture) -> None:
    access_stream = io.StringIO()
    api.app[ACCESS_LOG_KEY].stream = access_stream
    with caplog.at_level(logging.DEBUG):
        api.predict({"instances": [GOOD_ROW]}, key=KEY, headers={"X-Request-ID": "req-log-1"})
        api.predict({"instances": [GOOD_ROW]}, key="wrong-secret-value")
        api.predict(
            {"instances": [GOOD_ROW]}, key=None, headers={"Authorization": "Basic c2VjcmV0"}
        )
    api.app[ACCESS_LOG_KEY].flush()
    access = [json.loads(line) for line in access_stream.getvalue().splitlines()]
    assert [entry["status"] for entry in access] == [200, 401, 401]
    assert access[0]["request_id"] == "req-log-1"
    assert access[0]["route"] == "/v1/predict"
    assert {"ts", "level", "logger", "message", "duration_ms"} <= set(access[0])
    formatter = JsonFormatter()
    text = access_stream.getvalue() + "\n".join(formatter.format(r) for r in caplog.records)
    for secret in (KEY, "wrong-secret-value", "c2VjcmV0", "Authorization", "Bearer"):
        assert secret not in text


# ------------------------------------------------------------------------------------- faults
def test_fault_error_rate_one_fails_every_prediction_as_500(make_api) -> None:
    api = make_api(fault_error_rate=1.0)
    assert_error(api.predict({"instances": [GOOD_ROW]}), 500, "injected_fault")
    assert api.request("GET", "/healthz").status == 200  # faults apply to /v1/predict only
    samples = api.metrics()
    labels = (("method", "POST"), ("route", "/v1/predict"), ("status", "500"))
    assert samples[("model_api_requests_total", labels)] == 1


def test_fault_latency_is_applied_to_predict_only(make_api, monkeypatch) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(app_module, "_sleep", record)
    api = make_api(fault_latency_ms=250)
    assert api.request("GET", "/healthz").status == 200
    assert slept == []
    assert api.predict({"instances": [GOOD_ROW]}).status == 200
    assert slept == [0.25]


def test_fault_file_turns_faults_on_and_off(make_api, tmp_path: Path) -> None:
    fault_file = tmp_path / "fault.json"
    api = make_api(fault_file=str(fault_file))
    body = {"instances": [GOOD_ROW]}
    assert api.predict(body).status == 200
    fault_file.write_text(json.dumps({"error_rate": 1.0, "latency_ms": 0}))
    assert api.wait_until(lambda: api.predict(body).status == 500)
    fault_file.write_text("{broken")  # an invalid file keeps the last good settings
    api.wait_until(lambda: False, timeout=0.3)
    assert api.predict(body).status == 500
    fault_file.write_text(json.dumps({"error_rate": 0}))
    assert api.wait_until(lambda: api.predict(body).status == 200)
    fault_file.write_text(json.dumps({"error_rate": 1}))
    assert api.wait_until(lambda: api.predict(body).status == 500)
    fault_file.unlink()  # no file: back to the environment's settings (none)
    assert api.wait_until(lambda: api.predict(body).status == 200)


# ------------------------------------------------------------------------------------ metrics
def test_metrics_record_route_template_method_and_status(api: SyncApi) -> None:
    api.predict({"instances": [GOOD_ROW]})
    api.predict({"instances": []})
    api.request("GET", "/some/random/path-12345")
    api.request("PROPFIND", "/v1/predict")
    samples = api.metrics()

    def counter(route: str, method: str, status: str) -> float:
        labels = (("method", method), ("route", route), ("status", status))
        return samples.get(("model_api_requests_total", labels), 0)

    assert counter("/v1/predict", "POST", "200") == 1
    assert counter("/v1/predict", "POST", "422") == 1
    assert counter("unmatched", "GET", "404") == 1
    assert counter("/v1/predict", "OTHER", "405") == 1
    route = (("method", "POST"), ("route", "/v1/predict"))
    assert samples[("model_api_request_duration_seconds_count", route)] == 2
    inf_bucket = (("le", "+Inf"), ("method", "POST"), ("route", "/v1/predict"))
    assert samples[("model_api_request_duration_seconds_bucket", inf_bucket)] == 2
    assert ("model_api_request_duration_seconds_bucket", (("le", "0.005"), *route)) in samples
    assert ("model_api_request_duration_seconds_bucket", (("le", "2.5"), *route)) in samples
    assert samples[("model_api_requests_in_flight", ())] == 1  # the /metrics request itself
    model = load_packaged_model()
    info = (("model_name", model.name), ("model_version", model.version))
    assert samples[("model_api_model_info", info)] == 1
    text = api.request("GET", "/metrics").body.decode()
    assert "path-12345" not in text
    assert "PROPFIND" not in text


def test_metrics_content_type(api: SyncApi) -> None:
    reply = api.request("GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
