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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
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
    """An error answered as JSON {"error": {"code", "message"}} with the given status."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


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


_HTTP_ERROR_CODES = {
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "No such route."),
    405: ("method_not_allowed", "Method not allowed on this route."),
    413: ("body_too_large", "The request body is too large."),
}


def _from_http_exception(exc: web.HTTPException, request_id: str) -> web.Response:
    code, message = _HTTP_ERROR_CODES.get(exc.status, ("http_error", exc.reason))
    headers = {}
    if exc.status == 405 and "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    return error_response(exc.status, code, message, request_id, headers)


# ------------------------------------------------------------------------------ instrumentation
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def instrumented(app: web.Application, route: str, handler: Handler) -> Handler:
    """Wrap one route's handler: request id, in-flight gauge, metrics, access log, catch-all.

    A per-route wrapper rather than a middleware: the route template is known here, label
    children are bound once, and aiohttp's middleware chain is skipped on the hot path.
    Unknown paths and methods reach catch-all routes wrapped the same way (see create_app).
    """
    metrics = app[METRICS_KEY]
    state = app[STATE_KEY]
    access = app[ACCESS_LOG_KEY]
    log_access = app[CONFIG_KEY].access_log_enabled
    observe = metrics.observe
    perf_counter = time.perf_counter
    route_json = json.dumps(route)

    async def wrapper(request: web.Request) -> web.StreamResponse:
        start = perf_counter()
        request_id = request.headers.get("X-Request-ID")
        if request_id is None or not _REQUEST_ID_OK(request_id):
            request_id = f"{_ID_PREFIX}{next(_id_counter):016x}"
        request[REQUEST_ID_KEY] = request_id
        state.in_flight += 1
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, request_id, exc.headers)
        except web.HTTPException as exc:
            response = _from_http_exception(exc, request_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the catch-all: answer JSON 500, log the type
            log.error(
                "unhandled error",
                extra={"fields": {"request_id": request_id, "error_type": type(exc).__name__}},
            )
            response = error_response(500, "internal_error", "Internal server error.", request_id)
        finally:
            state.in_flight -= 1
        response.headers["X-Request-ID"] = request_id
        if state.draining:
            # Ask keep-alive clients to reconnect, so they move to pods that are not going away.
            response.force_close()
        elapsed = perf_counter() - start
        status = response.status
        method = request.method
        observe(route, method, status, elapsed)
        if log_access:
            path = request.path
            # Only the path is untrusted text; the request id and method are validated tokens.
            path_json = route_json if path == route else json.dumps(path[:256])
            access.record_line(
                f'"level":"INFO","logger":"model_api.access","message":"request",'
                f'"request_id":"{request_id}","method":"{method}","path":{path_json},'
                f'"route":{route_json},"status":{status},"duration_ms":{elapsed * 1000:.3f},'
                f'"remote":"{request.remote}"'
            )
        return response

    return wrapper


async def not_found(request: web.Request) -> web.Response:
    raise ApiError(404, "not_found", "No such route.")


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


def make_predict(app: web.Application) -> Handler:
    """POST /v1/predict, bound to this app's objects (no per-request key lookups)."""
    config = app[CONFIG_KEY]
    state = app[STATE_KEY]
    keys = app[KEYS_KEY]
    faults = app[FAULTS_KEY]
    auth_enabled = config.auth_enabled
    max_body = config.max_body_bytes
    loads, dumps = json.loads, json.dumps

    async def predict(request: web.Request) -> web.Response:
        if auth_enabled:
            _authenticate(request, keys)
        if request.content_type != _JSON:
            raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json.")
        length = request.content_length
        if length is not None and length > max_body:
            raise ApiError(
                413,
                "body_too_large",
                f"The body is {length} bytes; the limit is {max_body} (MODEL_API_MAX_BODY_BYTES).",
            )
        body = await request.read()
        try:
            data = loads(body)
        except (ValueError, RecursionError):
            raise ApiError(400, "malformed_json", "The body is not valid UTF-8 JSON.") from None
        model = state.model
        instances = _validate(data, config, model.n_features)

        fault = faults.current
        if fault.active:
            if fault.latency_ms > 0:
                await _sleep(fault.latency_ms / 1000)
            if fault.error_rate > 0 and random.random() < fault.error_rate:  # noqa: S311 - a drill, not crypto
                raise ApiError(500, "injected_fault", "Injected fault (fault injection is on).")

        return web.Response(
            body=dumps(
                {
                    "model_name": model.name,
                    "model_version": model.version,
                    "predictions": model.predict(instances),
                }
            ).encode(),
            content_type=_JSON,
        )

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

    app = web.Application(client_max_size=config.max_body_bytes)
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
    for path, methods in routes.items():
        for method, handler in methods.items():
            wrapped = instrumented(app, path, handler)
            app.router.add_route(method, path, wrapped)
            if method == "GET":
                app.router.add_route("HEAD", path, wrapped)
        allowed = ", ".join(sorted({*methods, "HEAD"} if "GET" in methods else methods))
        app.router.add_route("*", path, instrumented(app, path, method_not_allowed(allowed)))
    app.router.add_route("*", "/{unmatched_path:.*}", instrumented(app, UNMATCHED_ROUTE, not_found))
    return app
