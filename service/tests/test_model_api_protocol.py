"""Client-caused errors are never server errors (issue 19): request content codings, what
aiohttp's HTTP parser rejects before any handler runs, framing and body problems. Every such
request gets a JSON 4xx with a request id, is counted as a 4xx, and leaves no 5xx behind.

Raw bytes on real loopback connections (model_api_testing.raw_exchange): aiohttp's client
cannot send most of these requests.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from model_api_testing import GOOD_ROW, KEY, RawExchange, SyncApi, is_json_error

HERE = Path(__file__).resolve().parent
BODY = json.dumps({"instances": [GOOD_ROW]}).encode()


def request(
    method: str = "POST",
    path: str = "/v1/predict",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    length: bool = True,
    auth: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if auth:
        lines += [f"Authorization: Bearer {KEY}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def only_response(exchange: RawExchange):
    assert exchange.outcome in ("answered", "closed"), exchange
    assert len(exchange.responses) == 1, exchange
    return exchange.responses[0]


def assert_json_error(exchange: RawExchange, status: int, code: str | None = None) -> dict:
    response = only_response(exchange)
    assert response.status == status, response
    assert is_json_error(response), response
    error = json.loads(response.body)["error"]
    if code:
        assert error["code"] == code, error
    return error


def five_xx(api: SyncApi) -> dict:
    return {
        labels: value
        for (name, labels), value in api.metrics().items()
        if name == "model_api_requests_total" and dict(labels)["status"].startswith("5")
    }


@pytest.fixture
def short_api(make_api) -> SyncApi:
    return make_api(body_timeout_seconds=0.2)


# ------------------------------------------------------------------------------ content codings
@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "GZIP", "identity, gzip"])
def test_gzip_body_is_decoded(api: SyncApi, coding: str) -> None:
    exchange = api.raw(request(headers=[("Content-Encoding", coding)], body=gzip.compress(BODY)))
    response = only_response(exchange)
    assert response.status == 200, response
    assert len(json.loads(response.body)["predictions"]) == 1


def test_gzip_with_several_members_is_one_body(api: SyncApi) -> None:
    half = len(BODY) // 2
    body = gzip.compress(BODY[:half]) + gzip.compress(BODY[half:])
    exchange = api.raw(request(headers=[("Content-Encoding", "gzip")], body=body))
    assert only_response(exchange).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not gzip at all",
        gzip.compress(BODY)[:-6],  # truncated
        gzip.compress(BODY) + b"trailing garbage",
        zlib.compress(BODY),  # zlib container, not gzip
        b"",
    ],
    ids=["garbage", "truncated", "trailing-garbage", "zlib", "empty"],
)
def test_undecodable_gzip_is_json_400(api: SyncApi, body: bytes) -> None:
    """Was: 500 internal_error (RequestPayloadError while reading) or a reset connection."""
    exchange = api.raw(request(headers=[("Content-Encoding", "gzip")], body=body))
    assert_json_error(exchange, 400, "malformed_encoding")
    assert not five_xx(api)


def test_gzip_bomb_stops_at_the_body_limit(make_api) -> None:
    api = make_api(max_body_bytes=4096)
    bomb = gzip.compress(b"0" * 3_000_000)
    assert len(bomb) < 4096
    exchange = api.raw(request(headers=[("Content-Encoding", "gzip")], body=bomb))
    assert_json_error(exchange, 413, "body_too_large")


@pytest.mark.parametrize(
    "codings",
    [["br"], ["deflate"], ["zstd"], ["compress"], ["gzip, gzip"], ["gzip", "gzip"], ["gzip", "br"]],
)
def test_other_codings_are_json_415_before_the_body_is_read(
    api: SyncApi, codings: list[str]
) -> None:
    """Was: a plain-text 400 from aiohttp's parser for br (and zstd), 500 or a plain-text
    400 'deflate' for an undecodable deflate body."""
    headers = [("Content-Encoding", c) for c in codings]
    exchange = api.raw(request(headers=headers, body=b"\x00 not decodable"))
    assert_json_error(exchange, 415, "unsupported_content_encoding")
    assert only_response(exchange).headers["accept-encoding"] == "gzip, identity"


def test_coding_is_checked_after_auth(api: SyncApi) -> None:
    raw = request(headers=[("Content-Encoding", "br")], body=BODY, auth=False)
    assert_json_error(api.raw(raw), 401, "unauthorized")


def test_routes_without_a_body_ignore_the_coding(api: SyncApi) -> None:
    """Was: a plain-text 400 for Content-Encoding: br on any route."""
    exchange = api.raw(request("GET", "/healthz", [("Content-Encoding", "br")], auth=False))
    assert only_response(exchange).status == 200


# -------------------------------------------------------- what aiohttp's parser rejects itself
PARSER_REJECTS = {
    "content-length-and-chunked": request(
        headers=[("Transfer-Encoding", "chunked")], body=b"0\r\n\r\n"
    ),
    "duplicate-content-length": request(headers=[("Content-Length", "3")], body=BODY),
    "missing-host": b"GET /healthz HTTP/1.1\r\n\r\n",
    "bad-method": b"G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "tls-hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),
    "long-header": request("GET", "/healthz", [("X-Long", "x" * 9000)], auth=False),
    "nul-in-header": request("GET", "/healthz", [("X-Bad", "a\x00b")], auth=False),
    "bad-chunk-size": request(
        headers=[("Transfer-Encoding", "chunked")], body=b"zz\r\nabc\r\n0\r\n\r\n", length=False
    ),
    "transfer-coding-not-chunked": request(headers=[("Transfer-Encoding", "gzip")], length=False),
    "bad-version": b"GET /healthz HTTP/9.x\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("raw", PARSER_REJECTS.values(), ids=PARSER_REJECTS.keys())
def test_parser_rejections_are_json_400_and_counted(api: SyncApi, raw: bytes) -> None:
    """Was: aiohttp's plain-text 400 (web_protocol.py, RequestHandler.handle_error)."""
    error = assert_json_error(api.raw(raw), 400, "bad_request")
    assert error["message"].startswith("The request is not valid HTTP/1.1")
    assert "\\x" not in error["message"] and "b'" not in error["message"]  # no request bytes
    samples = api.metrics()
    key = (
        "model_api_requests_total",
        (("method", "OTHER"), ("route", "unmatched"), ("status", "400")),
    )
    assert samples.get(key) == 1


def test_parser_rejection_never_echoes_header_values(api: SyncApi) -> None:
    raw = request("GET", "/healthz", [("X-Secret", "hunter2\x00")], auth=False)
    response = only_response(api.raw(raw))
    assert response.status == 400
    assert b"hunter2" not in response.body


@pytest.mark.parametrize(
    "raw",
    [
        b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
        b"GET http://127.0.0.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ],
    ids=["authority-form", "absolute-form-without-path", "asterisk"],
)
def test_targets_without_a_path_are_json_404(api: SyncApi, raw: bytes) -> None:
    """Was: aiohttp's plain-text '404: Not Found' from the router."""
    assert_json_error(api.raw(raw), 404, "not_found")


# ------------------------------------------------------------------------- Expect and framing
def test_unknown_expectation_is_json_417(api: SyncApi) -> None:
    """Was: aiohttp's plain-text 417 (web_urldispatcher.py, _default_expect_handler)."""
    exchange = api.raw(request(headers=[("Expect", "teapot")], body=BODY))
    assert_json_error(exchange, 417, "expectation_failed")


def test_100_continue_still_works(api: SyncApi) -> None:
    exchange = api.raw(request(headers=[("Expect", "100-continue")], body=BODY))
    assert only_response(exchange).status == 200


def test_body_shorter_than_content_length_is_json_408(short_api: SyncApi) -> None:
    """Was: no answer at all while the client waits; then a 500 in the metrics when it left."""
    raw = request(length=False, headers=[("Content-Length", str(len(BODY) + 10))], body=BODY)
    exchange = short_api.raw(raw, timeout=5)
    error = assert_json_error(exchange, 408, "body_timeout")
    assert "MODEL_API_BODY_TIMEOUT_SECONDS" in error["message"]
    assert exchange.responses[0].headers.get("connection", "").lower() == "close"


def test_client_leaving_mid_body_is_counted_as_4xx_not_5xx(api: SyncApi) -> None:
    """Was: ConnectionResetError in request.read() -> 500 internal_error in the metrics."""
    raw = request(length=False, headers=[("Content-Length", "1000")], body=BODY)
    server = api.client.server

    async def leave_mid_body() -> None:
        _reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(raw)
        await writer.drain()
        await asyncio.sleep(0.2)  # the handler is now waiting for the rest of the body
        writer.close()
        await writer.wait_closed()

    api.loop.run_until_complete(leave_mid_body())
    key = (
        "model_api_requests_total",
        (("method", "POST"), ("route", "/v1/predict"), ("status", "400")),
    )
    assert api.wait_until(lambda: key in api.metrics())
    assert api.metrics()[key] == 1
    assert not five_xx(api)


# ------------------------------------------------------------------- the kept fuzz run, small
def test_fuzz_generator_in_process(make_api) -> None:
    """The fuzz script's own generator and judge (http_fuzz.py), 400 requests in-process."""
    import http_fuzz

    api = make_api(body_timeout_seconds=0.2)
    server = api.client.server
    tally = api.loop.run_until_complete(
        http_fuzz.fuzz(server.host, server.port, KEY, 400, seed=1917, concurrency=16, timeout=1)
    )
    assert not tally.broken, "\n".join(tally.problems)
    assert tally.sent == 400
    assert api.request("GET", "/readyz").status == 200
    assert not five_xx(api)


@pytest.mark.slow
def test_fuzz_script_against_the_entry_point(tmp_path: Path) -> None:
    """The kept script (service/tests/http_fuzz.py) against the real `model-api` process,
    which is what uses ModelApiRunner in production (__main__.serve)."""
    out = tmp_path / "fuzz.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "http_fuzz.py"),
            "--count",
            "300",
            "--timeout",
            "2",
            "--seed",
            "3",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["requests"] == 300
    assert summary["5xx"] == summary["dropped"] == summary["non_json_errors"] == 0
    assert summary["metrics_5xx"] == 0 and summary["ready_after"] == 200
