"""Property-based: whatever arrives at /v1/predict, the answer is never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_api_testing import KEY, SyncApi, write_keys

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
