"""The aiohttp application: factory, typed keys, cleanup contexts, middleware and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import re
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import HttpVersion11, http_exceptions, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import __version__
from .config import Config
from .logs import AccessLog
from .metrics import UNMATCHED_ROUTE, ServiceMetrics
from .model import LogisticModel, load_packaged_model
from .watched import ApiKeyStore, FaultSettings, FaultSource

log = logging.getLogger("model_api")

# Features beyond this magnitude are rejected: the weighted sum must stay finite.
MAX_ABS_FEATURE = 1e12
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}").fullmatch
_WWW_AUTHENTICATE = 'Bearer realm="model-api"'
_JSON = "application/json"
# json.loads(text) with the default arguments (json/__init__.py: _default_decoder.decode).
_decode_json = json.JSONDecoder().decode
# Indirection so tests can observe the injected latency without timing anything.
_sleep = asyncio.sleep


@dataclass(slots=True)
class ServiceState:
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    model: LogisticModel | None = None


CONFIG_KEY = web.AppKey("config", Config)
METRICS_KEY = web.AppKey("metrics", ServiceMetrics)
STATE_KEY = web.AppKey("state", ServiceState)
KEYS_KEY = web.AppKey("api_keys", ApiKeyStore)
FAULTS_KEY = web.AppKey("faults", FaultSource)
MODEL_KEY = web.AppKey("model", LogisticModel)
FILE_WATCH_TASK_KEY = web.AppKey("file_watch_task", asyncio.Task)
ACCESS_LOG_KEY = web.AppKey("access_log", AccessLog)
REQUEST_ID_KEY = web.RequestKey("request_id", str)

# Generated request ids: a random per-process prefix and a counter (32 hex digits in all);
# unique across pods without a system call per request.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count(1)


class ApiError(Exception):
    """An error answered as JSON {"error": {"code", "message"}} with the given status.

    close=True also asks the client to close the connection (the body was not fully read).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers
        self.close = close


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return web.Response(
        status=status, body=json.dumps(body).encode(), content_type=_JSON, headers=headers
    )


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


_HTTP_ERROR_CODES = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "No such route."),
    405: ("method_not_allowed", "Method not allowed on this route."),
    408: ("body_timeout", "The request body did not arrive in time."),
    413: ("body_too_large", "The request body is too large."),
    417: ("expectation_failed", "Only the expectation 100-continue is supported."),
    500: ("internal_error", "Internal server error."),
}


def _from_http_exception(exc: web.HTTPException, request_id: str) -> web.Response:
    code, message = _HTTP_ERROR_CODES.get(exc.status, ("http_error", exc.reason))
    headers = {}
    if exc.status == 405 and "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    return error_response(exc.status, code, message, request_id, headers)


# ------------------------------------------------------------------------------ instrumentation
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _recorder(app: web.Application) -> Callable[..., None]:
    """The metrics observation and access log line of one answered request."""
    observe = app[METRICS_KEY].observe
    access = app[ACCESS_LOG_KEY].request
    log_access = app[CONFIG_KEY].access_log_enabled
    perf_counter = time.perf_counter
    dumps = json.dumps

    def record(
        request: web.BaseRequest,
        route: str,
        route_json: str,
        method: str,
        status: int,
        request_id: str,
        start: float,
        path: str | None = None,
        extra: str = "",
    ) -> None:
        elapsed = perf_counter() - start
        observe(route, method, status, elapsed)
        if log_access:
            if path is None:
                path = request.path
            # Only the path is untrusted text; the request id and method are validated tokens.
            path_json = route_json if path == route else dumps(path[:256])
            access(
                request_id, method, path_json, route_json, status, elapsed, request.remote, extra
            )

    return record


def _error_for(exc: Exception, request_id: str) -> web.Response:
    """The JSON answer to an exception out of a handler (the instrumentation's catch-all)."""
    if isinstance(exc, ApiError):
        response = error_response(exc.status, exc.code, exc.message, request_id, exc.headers)
        if exc.close:
            response.force_close()
        return response
    if isinstance(exc, web.HTTPException):
        return _from_http_exception(exc, request_id)
    log.error(
        "unhandled error",
        extra={"fields": {"request_id": request_id, "error_type": type(exc).__name__}},
    )
    return error_response(500, "internal_error", "Internal server error.", request_id)


def _finisher(app: web.Application, route: str) -> Callable[..., web.StreamResponse]:
    """finish(request, response, request_id, start): the response's request id header, the
    drain's Connection: close, the metrics and the access line; returns the response.
    (The same steps as _recorder's, written out: this runs once per request.)"""
    state = app[STATE_KEY]
    observe = app[METRICS_KEY].observe
    access = app[ACCESS_LOG_KEY]
    log_access = app[CONFIG_KEY].access_log_enabled
    perf_counter = time.perf_counter
    wall_time = time.time
    dumps = json.dumps
    route_json = dumps(route)

    def finish(
        request: web.Request, response: web.StreamResponse, request_id: str, start: float
    ) -> web.StreamResponse:
        response.headers["X-Request-ID"] = request_id
        if state.draining:
            # Ask keep-alive clients to reconnect, so they move to pods that are not going away.
            response.force_close()
        elapsed = perf_counter() - start
        method = request.method
        status = response.status
        observe(route, method, status, elapsed)
        if log_access:
            path = request.path
            # Only the path is untrusted text; the request id and method are validated tokens.
            path_json = route_json if path == route else dumps(path[:256])
            entries = access.entries
            entries.append(
                (wall_time(), request_id, method, path_json, route_json, status, elapsed,
                 request.remote, "")
            )  # fmt: skip
            if len(entries) >= access.max_buffered:
                access.flush()
        return response

    return finish


def instrumented(app: web.Application, route: str, handler: Handler) -> Handler:
    """Wrap one route's handler: request id, in-flight gauge, metrics, access log, catch-all.

    A per-route wrapper rather than a middleware: the route template is known here, label
    children are bound once, and aiohttp's middleware chain is skipped on the hot path.
    Unknown paths and methods reach catch-all routes wrapped the same way (see create_app).
    POST /v1/predict has the same steps written into its handler (make_predict).
    """
    state = app[STATE_KEY]
    finish = _finisher(app, route)
    perf_counter = time.perf_counter

    async def wrapper(request: web.Request) -> web.StreamResponse:
        start = perf_counter()
        request_id = request.headers.get("X-Request-ID")
        if request_id is None or not _REQUEST_ID_OK(request_id):
            request_id = f"{_ID_PREFIX}{next(_id_counter):016x}"
        request[REQUEST_ID_KEY] = request_id
        state.in_flight += 1
        try:
            response = await handler(request)
        except Exception as exc:  # noqa: BLE001 - the catch-all: answer JSON, 500 logged
            response = _error_for(exc, request_id)
        finally:
            state.in_flight -= 1
        return finish(request, response, request_id, start)

    return wrapper


def expect_handler(
    failed: Handler,
) -> Callable[[web.Request], Awaitable[web.StreamResponse | None]]:
    """Expect: 100-continue as aiohttp does it (aiohttp/web_urldispatcher.py,
    _default_expect_handler); any other expectation is answered by `failed` (a JSON 417 through
    the route's instrumentation) instead of aiohttp's plain-text 417."""

    async def expect(request: web.Request) -> web.StreamResponse | None:
        if request.headers.get("Expect", "").lower() == "100-continue":
            if request.version == HttpVersion11:
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                # The interim response is not the response: aiohttp resets the count too.
                request.writer.output_size = 0
            return None
        return await failed(request)

    return expect


async def not_found(request: web.Request) -> web.Response:
    raise ApiError(404, "not_found", "No such route.")


async def expectation_failed(request: web.Request) -> web.Response:
    raise ApiError(417, "expectation_failed", "Only the expectation 100-continue is supported.")


def method_not_allowed(allowed: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise ApiError(
            405,
            "method_not_allowed",
            f"Method {request.method} is not allowed here; use {allowed}.",
            {"Allow": allowed},
        )

    return handler


# ----------------------------------------------------------------------------------- handlers
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if state.draining:
        return web.json_response({"status": "draining"}, status=503)
    if not state.ready:
        return web.json_response({"status": "not ready"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics_handler(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_KEY].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def version(request: web.Request) -> web.Response:
    model = request.app[MODEL_KEY]
    return web.json_response(
        {
            "service_version": __version__,
            "model_name": model.name,
            "model_version": model.version,
            "git_sha": request.app[CONFIG_KEY].git_sha,
        }
    )


def _authenticate(request: web.Request, keys: ApiKeyStore) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(
            401,
            "unauthorized",
            "Missing API key: send 'Authorization: Bearer <key>'.",
            {"WWW-Authenticate": _WWW_AUTHENTICATE},
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "unauthorized",
            "Malformed Authorization header: expected 'Bearer <key>'.",
            {"WWW-Authenticate": _WWW_AUTHENTICATE + ', error="invalid_request"'},
        )
    if not keys.is_valid(token.encode("utf-8", "surrogatepass")):
        raise ApiError(
            401,
            "unauthorized",
            "Invalid API key.",
            {"WWW-Authenticate": _WWW_AUTHENTICATE + ', error="invalid_token"'},
        )


def _validate(data: object, config: Config, n_features: int) -> list[list[float]]:
    """Check the body's shape, types and limits; raise ApiError 422 with a precise message."""
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", 'The body must be a JSON object {"instances": [...]}.')
    instances = data.get("instances")
    if not isinstance(instances, list):
        raise ApiError(422, "invalid_input", "'instances' must be an array of arrays of numbers.")
    if not instances:
        raise ApiError(422, "invalid_input", "'instances' must not be empty.")
    if len(instances) > config.max_batch:
        raise ApiError(
            422,
            "limit_exceeded",
            f"Too many instances: {len(instances)} > {config.max_batch} (MODEL_API_MAX_BATCH).",
        )
    for i, row in enumerate(instances):
        if type(row) is not list:
            raise ApiError(422, "invalid_input", f"instances[{i}] must be an array of numbers.")
        if len(row) > config.max_features:
            raise ApiError(
                422,
                "limit_exceeded",
                f"instances[{i}] has {len(row)} features > {config.max_features} "
                "(MODEL_API_MAX_FEATURES).",
            )
        if len(row) != n_features:
            raise ApiError(
                422,
                "invalid_input",
                f"instances[{i}] has {len(row)} features; the model expects {n_features}.",
            )
        for j, x in enumerate(row):
            kind = type(x)
            if kind is not float and kind is not int:
                raise ApiError(
                    422, "invalid_input", f"instances[{i}][{j}] must be a number, not {_kind(x)}."
                )
            if not -MAX_ABS_FEATURE <= x <= MAX_ABS_FEATURE:
                raise ApiError(
                    422,
                    "invalid_input",
                    f"instances[{i}][{j}] must be a finite number with absolute value "
                    f"<= {MAX_ABS_FEATURE:g}.",
                )
    return instances


def _read_json(body: bytes) -> object:
    """json.loads(body), or ApiError 400. UTF-8 without a byte order mark, the usual case,
    skips json.loads' detection of the encoding; anything else (a BOM, UTF-16 or UTF-32, an
    error) is left to json.loads itself, so every body gets json.loads' answer."""
    try:
        return _decode_json(body.decode())
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "The body is not valid UTF-8 JSON.") from None


def _predictions(data: object, config: Config, model: LogisticModel) -> list[float]:
    """The model's predictions for a request body, or ApiError 422 naming the first problem.

    A well-formed body takes LogisticModel.predict_checked (the checks in C, one pass); a body
    it does not accept, and only such a body, is validated step by step (_validate).
    """
    if type(data) is dict:
        instances = data.get("instances")
        if (
            type(instances) is list
            and 0 < len(instances) <= config.max_batch
            and model.n_features <= config.max_features
        ):
            predictions = model.predict_checked(instances, MAX_ABS_FEATURE)
            if predictions is not None:
                return predictions
    return model.predict(_validate(data, config, model.n_features))


def _answer_head(model: LogisticModel) -> str:
    """json.dumps of the answer object up to its predictions array's opening bracket."""
    head = json.dumps({"model_name": model.name, "model_version": model.version, "predictions": []})
    return head[: -len("]}")]


def _answer(head: str, predictions: list[float]) -> bytes:
    """json.dumps(answer).encode(): the predictions are finite floats, which json writes with
    float.__repr__ separated by ", " (json/encoder.py, floatstr and the default separators)."""
    return f"{head}{', '.join(map(float.__repr__, predictions))}]}}".encode()


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ------------------------------------------------------------------------------- request body
# Content codings accepted on request bodies (RFC 9110 section 8.4.1): none ("identity") and gzip
# ("x-gzip" is its registered alias, section 8.4.1.3). aiohttp's own decompression is switched off
# (handler_args auto_decompress=False in create_app), so the service decides, before the body is
# read, and decodes gzip itself with a bound on the decoded size.
ACCEPTED_ENCODINGS = "gzip, identity"
_GZIP_CODINGS = frozenset({"gzip", "x-gzip"})
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip container only (RFC 1952), not zlib or raw deflate


def _content_coding(request: web.Request) -> bool:
    """True for a gzip body, False for identity; ApiError 415 for anything else."""
    values = request.headers.getall("Content-Encoding", None)
    if values is None:
        return False
    codings = [c.strip(" \t").lower() for value in values for c in value.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return False
    if len(codings) == 1 and codings[0] in _GZIP_CODINGS:
        return True
    raise ApiError(
        415,
        "unsupported_content_encoding",
        "Content-Encoding must be gzip or identity (one coding at most).",
        {"Accept-Encoding": ACCEPTED_ENCODINGS},
    )


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decode a gzip body (one or more members) to at most `limit` bytes; ApiError 400 if it is
    not gzip or is truncated, 413 if it decodes to more than the limit (a bomb stops there)."""
    out = bytearray()
    rest = data
    while True:
        decoder = zlib.decompressobj(_GZIP_WBITS)
        try:
            out += decoder.decompress(rest, limit + 1 - len(out))
        except zlib.error:
            raise ApiError(400, "malformed_encoding", "The body is not valid gzip data.") from None
        if len(out) > limit:
            raise ApiError(
                413,
                "body_too_large",
                f"The body decodes to more than {limit} bytes (MODEL_API_MAX_BODY_BYTES).",
            )
        if not decoder.eof:
            raise ApiError(400, "malformed_encoding", "The gzip body is truncated.")
        rest = decoder.unused_data
        if not rest:
            return bytes(out)


def make_predict(app: web.Application) -> Handler:
    """POST /v1/predict, bound to this app's objects (no per-request key lookups).

    The hot path: the instrumentation's steps (instrumented()) are written into this one
    coroutine rather than wrapped around it, so a prediction awaits no nested coroutines
    when its body has arrived with its headers (the usual case). REQUEST_ID_KEY is not set
    on these requests: nothing here reads it. The usual request takes fast paths (the key
    check, the buffered body, the UTF-8 parse, the checked prediction, the answer's bytes);
    each hands anything unusual to the step-by-step code (docs/service.md, "Where the time
    goes"; service/tests/test_model_api_fast_paths.py holds them to it).
    """
    config = app[CONFIG_KEY]
    state = app[STATE_KEY]
    keys = app[KEYS_KEY]
    faults = app[FAULTS_KEY]
    finish = _finisher(app, "/v1/predict")
    auth_enabled = config.auth_enabled
    max_body = config.max_body_bytes
    body_timeout = config.body_timeout_seconds
    perf_counter = time.perf_counter
    accepts = keys.accepts
    # The answer's JSON up to the predictions' array, for the model being served: written once
    # per model, byte for byte what json.dumps writes for the whole object (see _answer).
    answer_head: list = [None, ""]

    async def predict(request: web.Request) -> web.StreamResponse:
        start = perf_counter()
        headers = request.headers
        request_id = headers.get("X-Request-ID")
        if request_id is None or not _REQUEST_ID_OK(request_id):
            request_id = f"{_ID_PREFIX}{next(_id_counter):016x}"
        state.in_flight += 1
        try:
            # 'Bearer <valid key>' first; anything else gets the full parse and its 401s.
            if auth_enabled and not accepts(headers.get("Authorization")):
                _authenticate(request, keys)
            # The exact header value first: parsing it (request.content_type) costs more.
            if headers.get("Content-Type") != _JSON and request.content_type != _JSON:
                raise ApiError(
                    415, "unsupported_media_type", "Content-Type must be application/json."
                )
            gzipped = "Content-Encoding" in headers and _content_coding(request)
            length = request.content_length
            if length is not None and length > max_body:
                raise ApiError(
                    413,
                    "body_too_large",
                    f"The body is {length} bytes; the limit is {max_body} "
                    "(MODEL_API_MAX_BODY_BYTES).",
                )
            content = request.content
            try:
                if content.is_eof():
                    # The usual case: the whole body came with the headers and is buffered;
                    # read_nowait() takes it without request.read()'s coroutine and copies.
                    body = content.read_nowait()
                    # request.read()'s size limit (client_max_size), as request.read() raises it.
                    if len(body) > max_body:
                        raise web.HTTPRequestEntityTooLarge(max_body)
                else:
                    async with asyncio.timeout(body_timeout):
                        body = await request.read()
            except TimeoutError:
                raise ApiError(
                    408,
                    "body_timeout",
                    f"The body did not arrive within {body_timeout:g} s "
                    "(MODEL_API_BODY_TIMEOUT_SECONDS).",
                    close=True,
                ) from None
            except (web.RequestPayloadError, ConnectionError):
                # Malformed chunked framing, or the client closed before the whole body came.
                raise ApiError(
                    400, "incomplete_body", "The body ended before it was complete.", close=True
                ) from None
            if gzipped:
                body = _gunzip(body, max_body)
            data = _read_json(body)
            model = state.model
            predictions = _predictions(data, config, model)

            fault = faults.current
            if fault.active:
                if fault.latency_ms > 0:
                    await _sleep(fault.latency_ms / 1000)
                if fault.error_rate > 0 and random.random() < fault.error_rate:  # noqa: S311 - a drill, not crypto
                    raise ApiError(500, "injected_fault", "Injected fault (fault injection is on).")

            if answer_head[0] is not model:
                answer_head[:] = model, _answer_head(model)
            response = web.Response(body=_answer(answer_head[1], predictions), content_type=_JSON)
        except Exception as exc:  # noqa: BLE001 - the catch-all: answer JSON, 500 logged
            response = _error_for(exc, request_id)
        finally:
            state.in_flight -= 1
        return finish(request, response, request_id, start)

    predict.instrumented = True  # type: ignore[attr-defined]
    return predict


# --------------------------------------------------------------------------- cleanup contexts
async def model_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the packaged model, publish model_info, and become ready; unready on the way out."""
    model = load_packaged_model()
    app[MODEL_KEY] = model
    app[STATE_KEY].model = model
    app[METRICS_KEY].model_info.labels(model.name, model.version).set(1)
    app[STATE_KEY].ready = True
    log.info(
        "model loaded",
        extra={"fields": {"model_name": model.name, "model_version": model.version}},
    )
    yield
    app[STATE_KEY].ready = False


async def file_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background task re-reading the key and fault files when they change; cancelled at cleanup."""
    interval = app[CONFIG_KEY].file_check_interval_seconds

    async def watch() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if app[CONFIG_KEY].auth_enabled:
                    app[KEYS_KEY].refresh()
                app[FAULTS_KEY].refresh()
            except Exception as exc:  # noqa: BLE001 - the watcher must never die
                log.error("file check failed", extra={"fields": {"reason": repr(exc)}})

    task = asyncio.create_task(watch(), name="model-api-file-watch")
    app[FILE_WATCH_TASK_KEY] = task
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def access_log_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background task flushing the buffered access log; cancelled, then a final flush."""
    access = app[ACCESS_LOG_KEY]

    async def flush_periodically() -> None:
        while True:
            await asyncio.sleep(0.2)
            access.flush()

    task = asyncio.create_task(flush_periodically(), name="model-api-access-log")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    access.flush()


# ------------------------------------------------------------------------------------ factory
def create_app(config: Config) -> web.Application:
    """Build the application. Raises OSError/ValueError if the key or fault file is unusable."""
    keys = ApiKeyStore(config.api_keys_file)
    if config.auth_enabled:
        keys.load()
    faults = FaultSource(
        FaultSettings(config.fault_error_rate, config.fault_latency_ms), config.fault_file
    )
    faults.load()

    # auto_decompress=False: aiohttp must not decode request bodies itself. With it on, aiohttp
    # answers a Content-Encoding it cannot decode (br without Brotli, zstd without
    # backports.zstd) with a plain-text 400 from its HTTP parser before any handler runs, and a
    # body that fails to decode surfaces in the handler as RequestPayloadError (see
    # docs/service.md). The service decides on the coding and decodes gzip itself.
    app = web.Application(
        client_max_size=config.max_body_bytes, handler_args={"auto_decompress": False}
    )
    app[CONFIG_KEY] = config
    state = ServiceState()
    app[STATE_KEY] = state
    app[METRICS_KEY] = ServiceMetrics(in_flight=lambda: state.in_flight)
    app[KEYS_KEY] = keys
    app[FAULTS_KEY] = faults
    app[ACCESS_LOG_KEY] = AccessLog()
    app.cleanup_ctx.append(access_log_ctx)
    app.cleanup_ctx.append(model_ctx)
    app.cleanup_ctx.append(file_watch_ctx)

    routes: dict[str, dict[str, Handler]] = {
        "/v1/predict": {"POST": make_predict(app)},
        "/healthz": {"GET": healthz},
        "/readyz": {"GET": readyz},
        "/metrics": {"GET": metrics_handler},
        "/version": {"GET": version},
    }

    def add(method: str, path: str, route: str, handler: Handler) -> None:
        expect = expect_handler(instrumented(app, route, expectation_failed))
        app.router.add_route(method, path, handler, expect_handler=expect)

    for path, methods in routes.items():
        for method, handler in methods.items():
            if getattr(handler, "instrumented", False):
                wrapped = handler
            else:
                wrapped = instrumented(app, path, handler)
            add(method, path, path, wrapped)
            if method == "GET":
                add("HEAD", path, path, wrapped)
        allowed = ", ".join(sorted({*methods, "HEAD"} if "GET" in methods else methods))
        add("*", path, path, instrumented(app, path, method_not_allowed(allowed)))
    # Everything else. Request targets that are not a path (CONNECT's authority form, OPTIONS *)
    # match no path pattern: ModelApiRunner answers those.
    add("*", "/{unmatched_path:.*}", UNMATCHED_ROUTE, instrumented(app, UNMATCHED_ROUTE, not_found))
    return app


# ---------------------------------------------------------- errors aiohttp answers by itself
# aiohttp's HTTP parser rejects some requests before any route or handler exists: a bad request
# line, a malformed or duplicated header, Content-Length with Transfer-Encoding, a missing Host
# on HTTP/1.1, a bad chunk size, a line over 8190 bytes. aiohttp/web_protocol.py
# (RequestHandler.data_received -> _make_error_handler -> handle_error) answers them with a
# plain-text 400 and closes the connection. handle_error is the one place aiohttp lets us
# change that answer: ModelApiRunner gives every connection a RequestHandler whose handle_error
# answers in the API's JSON error shape and records the request like any other (route
# "unmatched", method "OTHER"). aiohttp still decides the status and closes the connection.

# Exception types whose message repeats request bytes: answered with a fixed text instead.
_PROTOCOL_ERROR_TEXT: tuple[tuple[type[Exception], str], ...] = (
    (http_exceptions.LineTooLong, "a request line or header line is too long"),
    (http_exceptions.InvalidHeader, "a header is invalid"),
    (http_exceptions.BadHttpMethod, "the method is invalid"),
    (http_exceptions.BadStatusLine, "the request line is invalid"),
    (http_exceptions.InvalidURLError, "the request target is invalid"),
)


def _protocol_error_reason(exc: BaseException | None) -> str:
    for kind, text in _PROTOCOL_ERROR_TEXT:
        if isinstance(exc, kind):
            return text
    if isinstance(exc, http_exceptions.HttpProcessingError):
        # llhttp's reasons are "<fixed text>:\n\n  <request bytes>\n  ^": keep the fixed text.
        text = str(exc.message).split(":\n", 1)[0].strip().rstrip(":.")
        if text and "\n" not in text and len(text) <= 120:
            return text
    return "the request is not valid HTTP/1.1"


def protocol_error_responder(
    app: web.Application,
) -> Callable[[web.BaseRequest, int, BaseException | None], web.Response]:
    """The JSON answer to a request aiohttp rejected before routing (see above)."""
    record = _recorder(app)
    route_json = json.dumps(UNMATCHED_ROUTE)
    perf_counter = time.perf_counter

    def respond(request: web.BaseRequest, status: int, exc: BaseException | None) -> web.Response:
        start = perf_counter()
        request_id = _new_request_id()
        if status >= 500:
            code, message = _HTTP_ERROR_CODES[500]
            log.error(
                "unhandled error",
                extra={"fields": {"request_id": request_id, "error_type": type(exc).__name__}},
            )
        elif isinstance(exc, web.HTTPException):  # from aiohttp's router: see ModelApiRunner
            code, message = _HTTP_ERROR_CODES.get(status, ("http_error", exc.reason))
        else:
            code = _HTTP_ERROR_CODES.get(status, ("bad_request", ""))[0]
            message = f"The request is not valid HTTP/1.1: {_protocol_error_reason(exc)}."
        response = error_response(status, code, message, request_id)
        response.headers["X-Request-ID"] = request_id
        response.force_close()
        extra = f',"error_type":{json.dumps(type(exc).__name__)}' if exc is not None else ""
        record(request, UNMATCHED_ROUTE, route_json, "OTHER", status, request_id, start, "", extra)
        return response

    return respond


class _JsonErrorRequestHandler(web.RequestHandler):
    __slots__ = ("_respond_error",)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # As aiohttp's: once part of a response is on the wire no other answer can follow.
        if request.writer.output_size > 0:
            raise ConnectionError(
                "Response is sent already, cannot send another response with the error message"
            )
        return self._respond_error(request, status, exc)


class _JsonErrorServer(web.Server):
    """aiohttp's Server (the protocol factory) making _JsonErrorRequestHandler connections."""

    respond_error: Callable[[web.BaseRequest, int, BaseException | None], web.Response]

    def __call__(self) -> web.RequestHandler:
        handler = _JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)
        handler._respond_error = self.respond_error
        return handler


class ModelApiRunner(web.AppRunner):
    """web.AppRunner whose connections answer aiohttp's own rejections in JSON (see above).

    Relies on aiohttp internals checked at the pinned version (service/constraints.txt):
    Server.__call__ building RequestHandler(self, loop=self._loop, **self._kwargs), and
    RequestHandler.handle_error; service/tests/test_model_api_protocol.py fails if they change.
    """

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        respond = protocol_error_responder(self.app)
        server.__class__ = _JsonErrorServer
        server.respond_error = respond
        # A request target that is not a path (CONNECT's authority form, "GET http://host",
        # "OPTIONS *") matches no route, not even the catch-all (UrlDispatcher.resolve in
        # web_urldispatcher.py): the router's HTTPNotFound then escapes every route's
        # instrumentation and aiohttp would send it as plain text (web_protocol.py,
        # RequestHandler._handle_request). Catch it here.
        handle = server.request_handler

        async def handle_unrouted(request: web.BaseRequest) -> web.StreamResponse:
            try:
                return await handle(request)
            except web.HTTPException as exc:
                response = respond(request, exc.status, exc)
                response.force_close()
                return response

        server.request_handler = handle_unrouted
        return server
