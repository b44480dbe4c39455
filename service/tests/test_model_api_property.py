"""Property-based: whatever arrives at /v1/predict, the answer is never a 5xx; every error is
the JSON error shape, no connection is dropped."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import http_fuzz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_api_testing import GOOD_ROW, KEY, SyncApi, write_keys

from model_api.app import create_app
from model_api.config import Config


@pytest.fixture(scope="module")
def prop_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncApi]:
    keys = tmp_path_factory.mktemp("keys") / "api-keys.json"
    write_keys(keys, KEY)
    api = SyncApi(create_app(Config(api_keys_file=str(keys), max_body_bytes=4096, max_batch=8)))
    yield api
    api.close()


numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=10)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=60,
)
shaped = st.fixed_dictionaries(
    {"instances": st.lists(st.lists(numbers | json_values, max_size=10), max_size=10)}
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(json.dumps).map(str.encode),
    shaped.map(json.dumps).map(str.encode),
    st.builds(lambda n: b'{"instances": [' + b"[1]," * n + b"[1]]}", st.integers(0, 2000)),
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", "", "*/*"]
    ),
    header_text,
)
authorizations = st.one_of(
    st.none(), st.just(f"Bearer {KEY}"), header_text, header_text.map("Bearer {}".format)
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies,
    content_type=content_types,
    authorization=authorizations,
    request_id=st.none() | header_text,
)
def test_predict_never_answers_5xx(
    prop_api: SyncApi,
    body: bytes,
    content_type: str,
    authorization: str | None,
    request_id: str | None,
) -> None:
    headers = {"Content-Type": content_type}
    if authorization is not None:
        headers["Authorization"] = authorization
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    reply = prop_api.request("POST", "/v1/predict", data=body, headers=headers)
    assert reply.status < 500, reply.body
    payload = reply.json()
    if reply.status == 200:
        assert all(0 <= p <= 1 for p in payload["predictions"])
    else:
        assert set(payload["error"]) >= {"code", "message"}


# ------------------------------------------------------------------ headers, codings, framing
# Raw requests on real loopback connections: Content-Encoding, Transfer-Encoding, Content-Length
# mismatches and duplicated headers, which aiohttp's client will not send (issue 19).
@pytest.fixture(scope="module")
def raw_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncApi]:
    keys = tmp_path_factory.mktemp("raw-keys") / "api-keys.json"
    write_keys(keys, KEY)
    api = SyncApi(
        create_app(
            Config(
                api_keys_file=str(keys),
                max_body_bytes=4096,
                max_batch=8,
                body_timeout_seconds=0.2,
                access_log_enabled=False,
            )
        )
    )
    yield api
    assert api.request("GET", "/readyz").status == 200  # the service is ready afterwards
    api.close()


GOOD_BODY = json.dumps({"instances": [GOOD_ROW]}).encode()
coding_values = (
    st.sampled_from(
        [
            "gzip",
            "x-gzip",
            "identity",
            "",
            "br",
            "deflate",
            "zstd",
            "compress",
            "gzip, gzip",
            "GZIP",
        ]
    )
    | header_text
)
encoded_bodies = st.one_of(
    st.just(GOOD_BODY),
    bodies,
    st.just(gzip.compress(GOOD_BODY)),
    bodies.map(gzip.compress),
    st.builds(lambda b, n: gzip.compress(b)[:n], bodies, st.integers(0, 40)),  # truncated
    st.builds(lambda n: gzip.compress(b"0" * n), st.sampled_from([4000, 5000, 100_000])),
    st.just(zlib.compress(GOOD_BODY)),
)
framings = st.sampled_from(
    [
        "length",
        "length",
        "chunked",
        "short",
        "long",
        "dup-same",
        "dup-diff",
        "length+chunked",
        "none",
        "te-gzip",
        "dup-chunked",
        "bad-chunk",
    ]
)
extra_headers = st.lists(
    st.sampled_from(
        [
            ("Authorization", "Bearer wrong"),
            ("Authorization", f"Bearer {KEY}"),
            ("Content-Type", "text/plain"),
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Content-Encoding", "br"),
            ("Host", "other"),
            ("X-Request-ID", "dup-id"),
            ("Expect", "100-continue"),
            ("Expect", "nothing"),
            ("Connection", "close"),
            ("Upgrade", "websocket"),
        ]
    ),
    max_size=3,
)


def frame(body: bytes, framing: str) -> tuple[list[tuple[str, str]], bytes]:
    n = len(body)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (n, body) if body else b"0\r\n\r\n"
    return {
        "length": ([("Content-Length", str(n))], body),
        "chunked": ([("Transfer-Encoding", "chunked")], chunked),
        "short": ([("Content-Length", str(max(0, n - 3)))], body),
        "long": ([("Content-Length", str(n + 3))], body),
        "dup-same": ([("Content-Length", str(n)), ("Content-Length", str(n))], body),
        "dup-diff": ([("Content-Length", str(n)), ("Content-Length", str(n + 1))], body),
        "length+chunked": ([("Content-Length", str(n)), ("Transfer-Encoding", "chunked")], chunked),
        "none": ([], body),
        "te-gzip": ([("Transfer-Encoding", "gzip"), ("Content-Length", str(n))], body),
        "dup-chunked": ([("Transfer-Encoding", "chunked")] * 2, chunked),
        "bad-chunk": ([("Transfer-Encoding", "chunked")], b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
    }[framing]


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=encoded_bodies,
    codings=st.lists(coding_values, max_size=2),
    framing=framings,
    extra=extra_headers,
    order=st.randoms(use_true_random=False),
)
def test_headers_codings_and_framing_never_answer_5xx(
    raw_api: SyncApi,
    body: bytes,
    codings: list[str],
    framing: str,
    extra: list[tuple[str, str]],
    order,
) -> None:
    framing_headers, payload = frame(body, framing)
    headers = [
        ("Host", "127.0.0.1"),
        ("Authorization", f"Bearer {KEY}"),
        ("Content-Type", "application/json"),
        *(("Content-Encoding", c) for c in codings),
        *framing_headers,
        *extra,
    ]
    order.shuffle(headers)
    head = "POST /v1/predict HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    case = http_fuzz.Case("property", head.encode("utf-8", "surrogateescape") + b"\r\n" + payload)
    exchange = raw_api.raw(case.data, timeout=2)
    assert http_fuzz.judge(case, exchange) is None, (exchange, case.data[:400])
    assert exchange.responses, exchange


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_fuzz_cases_never_answer_5xx(raw_api: SyncApi, rng) -> None:
    """The fuzz script's generator (http_fuzz.make_case), driven and shrunk by Hypothesis."""
    case = http_fuzz.make_case(rng, KEY)
    exchange = raw_api.raw(case.data, timeout=1, head_request=case.head)
    assert http_fuzz.judge(case, exchange) is None, (exchange, case.data[:400])
