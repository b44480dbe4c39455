"""The prediction's fast paths (issue 17) give exactly the answers of the step-by-step code
they stand in front of: the checked prediction, the answer's bytes, the JSON body's parse, the
Authorization check and the buffered body read. Each fast path only decides the usual case and
hands anything else to the full code, so each property here is "the fast path accepts only
what the full code accepts, and answers the same"."""

from __future__ import annotations

import json
import math

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_api_testing import GOOD_ROW, KEY, OTHER_KEY, SyncApi

from model_api import app as app_module
from model_api.app import (
    MAX_ABS_FEATURE,
    ApiError,
    _answer,
    _answer_head,
    _authenticate,
    _predictions,
    _read_json,
    _validate,
)
from model_api.config import Config
from model_api.logs import AccessLog, iso_timestamp
from model_api.model import LogisticModel, load_packaged_model
from model_api.watched import ApiKeyStore

MODEL = load_packaged_model()
# Weights large enough that valid rows overflow the weighted sum: the checked path must step
# aside (its sum is not finite) and predict() must answer as it always did.
HUGE = LogisticModel("huge", "1", MODEL.feature_names, (1e300, -1e300, *MODEL.weights[2:]), 0.0)
CONFIG = Config(max_batch=4, max_features=16)
FAST = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2 * MAX_ABS_FEATURE, max_value=2 * MAX_ABS_FEATURE),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from([MAX_ABS_FEATURE, -MAX_ABS_FEATURE, 10**12, -(10**12), 10**12 + 1]),
)
oddities = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3), st.just([1.0]), st.just({"a": 1})
)
# Values just outside what _validate accepts, and the non-numbers JSON can carry in a row.
EDGES = [
    MAX_ABS_FEATURE * (1 + 1e-15),
    -MAX_ABS_FEATURE * (1 + 1e-15),
    10**12 + 1,
    -(10**12) - 1,
    10**400,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "1",
    [1.0],
    {},
]
valid_numbers = st.one_of(
    st.floats(min_value=-MAX_ABS_FEATURE, max_value=MAX_ABS_FEATURE),
    st.integers(min_value=-(10**12), max_value=10**12),
)


@st.composite
def nearly_valid_rows(draw: st.DrawFn) -> list[object]:
    """A valid row of 8 with one value replaced: the cases the fast path must still refuse."""
    row = draw(st.lists(valid_numbers, min_size=8, max_size=8))
    row[draw(st.integers(0, 7))] = draw(st.one_of(numbers, oddities, st.sampled_from(EDGES)))
    return row


rows = st.one_of(
    st.lists(valid_numbers, min_size=8, max_size=8),
    nearly_valid_rows(),
    st.lists(numbers, min_size=8, max_size=8),
    st.lists(st.one_of(numbers, oddities), min_size=8, max_size=8),
    st.lists(numbers, min_size=0, max_size=20),
    oddities,
)
bodies = st.one_of(
    st.fixed_dictionaries({"instances": st.lists(rows, max_size=6)}),
    st.fixed_dictionaries({"instances": oddities}),
    st.one_of(st.lists(rows, max_size=2), oddities),
)


def reference(data: object, model: LogisticModel) -> list[float] | tuple[int, str, str]:
    """The step-by-step answer: _validate, then predict."""
    try:
        return model.predict(_validate(data, CONFIG, model.n_features))
    except ApiError as exc:
        return (exc.status, exc.code, exc.message)


def answered(data: object, model: LogisticModel) -> list[float] | tuple[int, str, str]:
    try:
        return _predictions(data, CONFIG, model)
    except ApiError as exc:
        return (exc.status, exc.code, exc.message)


def same(a: object, b: object) -> bool:
    return repr(a) == repr(b)  # NaN-aware equality of lists of floats


@FAST
@given(data=bodies, model=st.sampled_from([MODEL, HUGE]))
def test_checked_prediction_answers_exactly_as_validation_then_predict(data, model) -> None:
    assert same(answered(data, model), reference(data, model))
    instances = data.get("instances") if isinstance(data, dict) else None
    # _predictions asks the checked path only for a batch within the limits (0 < n <= max).
    if isinstance(instances, list) and 0 < len(instances) <= CONFIG.max_batch:
        checked = model.predict_checked(instances, MAX_ABS_FEATURE)
        if checked is not None:
            # Accepted by the fast path: valid by the full rules, and the same numbers.
            assert same(checked, model.predict(_validate(data, CONFIG, model.n_features)))


@pytest.mark.parametrize("edge", EDGES, ids=repr)
@pytest.mark.parametrize("where", [0, 7])
def test_each_edge_value_is_left_to_validation(edge: object, where: int) -> None:
    row: list[object] = [0.0] * 8
    row[where] = edge
    assert MODEL.predict_checked([GOOD_ROW, row], MAX_ABS_FEATURE) is None
    with pytest.raises(ApiError):
        _validate({"instances": [GOOD_ROW, row]}, CONFIG, MODEL.n_features)
    assert MODEL.predict_checked([GOOD_ROW, [0.0] * 8], MAX_ABS_FEATURE) is not None


def test_the_usual_request_skips_step_by_step_validation(
    api: SyncApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only equal answers: a well-formed body really takes the checked path."""
    calls = []

    def counted(*args):
        calls.append(args)
        return _validate(*args)

    monkeypatch.setattr(app_module, "_validate", counted)
    reply = api.predict({"instances": [GOOD_ROW, GOOD_ROW]})
    assert reply.status == 200
    assert json.loads(reply.body)["predictions"] == MODEL.predict([GOOD_ROW, GOOD_ROW])
    assert calls == []
    reply = api.predict({"instances": [[*GOOD_ROW[:-1], True]]})
    assert reply.status == 422
    assert "instances[0][7] must be a number, not a boolean" in reply.body.decode()
    assert len(calls) == 1


def test_a_model_wider_than_the_feature_limit_is_refused_as_before() -> None:
    narrow = Config(max_batch=4, max_features=4)
    with pytest.raises(ApiError) as raised:
        _predictions({"instances": [GOOD_ROW]}, narrow, MODEL)
    assert raised.value.code == "limit_exceeded"


@FAST
@given(
    name=st.text(max_size=20),
    version=st.text(max_size=10),
    predictions=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=64),
)
def test_answer_bytes_are_what_json_dumps_writes(name, version, predictions) -> None:
    model = LogisticModel(name, version, ("f0",), (1.0,), 0.0)
    expected = json.dumps(
        {"model_name": name, "model_version": version, "predictions": predictions}
    ).encode()
    assert _answer(_answer_head(model), predictions) == expected


encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "utf-32-be"])
json_texts = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
).map(json.dumps)
raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda text, enc: text.encode(enc, "surrogatepass"), json_texts, encodings),
    st.sampled_from(
        [b"NaN", b"[Infinity]", b'"\\ud800"', b'"\xed\xa0\x80"', b"\xef\xbb\xbf{}", b"[" * 5000]
    ),
)


@FAST
@given(body=raw_bodies)
def test_body_parse_is_json_loads(body: bytes) -> None:
    try:
        expected = json.loads(body)
    except (ValueError, RecursionError):
        with pytest.raises(ApiError) as raised:
            _read_json(body)
        assert (raised.value.status, raised.value.code) == (400, "malformed_json")
    else:
        assert same(_read_json(body), expected)


header_values = st.one_of(
    st.sampled_from(
        [
            f"Bearer {KEY}",
            f"Bearer {OTHER_KEY}",
            f"bearer {KEY}",
            f"Bearer  {KEY} ",
            f"Bearer {KEY}x",
            f"Bearer {KEY[:-1]}",
            "Bearer ",
            "Bearer",
            f"Basic {KEY}",
            f"{KEY}",
            "",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(
        "Bearer {}".format
    ),
    st.text(max_size=20),
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ApiKeyStore:
    path = tmp_path_factory.mktemp("keys") / "api-keys.json"
    path.write_text(json.dumps({"keys": [KEY, OTHER_KEY]}))
    store = ApiKeyStore(str(path))
    store.load()
    return store


@FAST
@given(header=header_values)
def test_key_fast_check_accepts_only_what_the_full_check_accepts(keys, header: str) -> None:
    request = make_mocked_request("POST", "/v1/predict", headers={"Authorization": header})
    if keys.accepts(header):
        _authenticate(request, keys)  # raises if the full check refuses


def test_key_fast_check_takes_the_canonical_header(keys) -> None:
    assert keys.accepts(f"Bearer {KEY}") and keys.accepts(f"Bearer {OTHER_KEY}")
    assert not keys.accepts(None)
    # Not canonical, yet a valid key: left to the full check, which accepts it.
    assert not keys.accepts(f"bearer {KEY}")
    _authenticate(
        make_mocked_request("POST", "/", headers={"Authorization": f"bearer {KEY}"}), keys
    )


def chunked_request(body: bytes) -> bytes:
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 500]), body[i : i + 500])
        for i in range(0, len(body), 500)
    )
    return head + chunks + b"0\r\n\r\n"


def test_buffered_chunked_body_over_the_limit_is_413(make_api) -> None:
    """Sent in one write, the whole chunked body is buffered before the handler runs: the
    buffered read (read_nowait) applies the size limit request.read() would have applied."""
    api = make_api(max_body_bytes=2048)
    body = json.dumps({"instances": [GOOD_ROW] * 60}).encode()
    assert len(body) > 2048
    exchange = api.raw(chunked_request(body))
    assert exchange.outcome in ("answered", "closed"), exchange
    response = exchange.responses[0]
    assert response.status == 413
    assert json.loads(response.body)["error"]["code"] == "body_too_large"
    small = json.dumps({"instances": [GOOD_ROW]}).encode()
    reply = api.raw(chunked_request(small)).responses[0]
    assert reply.status == 200
    assert json.loads(reply.body)["predictions"] == MODEL.predict([GOOD_ROW])


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_bodies_json_loads_accepts_are_still_accepted(api: SyncApi, encoding: str) -> None:
    data = json.dumps({"instances": [GOOD_ROW]}).encode(encoding)
    reply = api.predict(data=data, headers={"Content-Type": "application/json"})
    assert reply.status == 200
    assert math.isclose(json.loads(reply.body)["predictions"][0], MODEL.predict([GOOD_ROW])[0])


@FAST
@given(
    start=st.floats(min_value=1.7e9, max_value=2.1e9),
    steps=st.lists(st.floats(min_value=0.0, max_value=0.7), min_size=1, max_size=20),
    seconds=st.floats(min_value=0.0, max_value=100.0),
    status=st.sampled_from([200, 401, 404, 413, 500]),
    path=st.text(max_size=12),
)
def test_access_lines_are_the_application_log_shape(start, steps, seconds, status, path) -> None:
    """The access log's printf-style line: valid JSON, the timestamp iso_timestamp writes, the
    duration in milliseconds to the microsecond, across second boundaries."""
    entries, t = [], start
    for step in steps:
        t += step
        entries.append(
            (t, "rid", "POST", json.dumps(path), '"/v1/predict"', status, seconds, "::1", "")
        )
    lines = AccessLog()._format(entries)
    assert len(lines) == len(entries)
    for line, entry in zip(lines, entries, strict=True):
        assert json.loads(line) == {
            "ts": iso_timestamp(entry[0]),
            "level": "INFO",
            "logger": "model_api.access",
            "message": "request",
            "request_id": "rid",
            "method": "POST",
            "path": path,
            "route": "/v1/predict",
            "status": status,
            "duration_ms": float(f"{seconds * 1000:.3f}"),
            "remote": "::1",
        }
