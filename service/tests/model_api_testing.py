"""Helpers for the model_api tests: a synchronous facade over aiohttp's test server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from model_api.app import ModelApiRunner

KEY = "test-key-1"
OTHER_KEY = "test-key-2"
GOOD_ROW = [0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 3.0, 0.25]


@dataclasses.dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ModelApiTestServer(TestServer):
    """aiohttp's TestServer with the runner the service uses (__main__.serve): ModelApiRunner,
    and aiohttp's default handler_cancellation=False as in production (TestServer turns it on:
    aiohttp/test_utils.py), so a client leaving mid-request does not cancel the handler."""

    async def _make_runner(self, **kwargs: Any) -> ModelApiRunner:
        kwargs["handler_cancellation"] = False
        return ModelApiRunner(self.app, **kwargs)


class SyncApi:
    """Runs the app on a private event loop; each call drives one request to completion."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

        async def start() -> TestClient:
            client = TestClient(ModelApiTestServer(app))
            await client.start_server()
            return client

        self.client = self.loop.run_until_complete(start())

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        async def go() -> Reply:
            async with self.client.request(method, path, **kwargs) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        return self.loop.run_until_complete(go())

    def predict(self, body: Any = None, key: str | None = KEY, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if body is not None and "data" not in kwargs:
            kwargs["data"] = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.request("POST", "/v1/predict", headers=headers, **kwargs)

    def raw(self, data: bytes, timeout: float = 5.0, **kwargs: Any) -> RawExchange:
        """Send raw bytes on a new TCP connection to the test server; read the answers."""
        server = self.client.server
        return self.loop.run_until_complete(
            raw_exchange(server.host, server.port, data, timeout=timeout, **kwargs)
        )

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.request("GET", "/metrics").body.decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.loop.run_until_complete(asyncio.sleep(0.05))
        return False

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        # Connections still lingering over an unread body (aiohttp's lingering_time) end here.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:

            async def settle() -> None:
                await asyncio.gather(*pending, return_exceptions=True)

            self.loop.run_until_complete(settle())
        self.loop.close()


def write_keys(path: Path, *keys: str) -> None:
    """Replace the key file atomically (new inode), like a Kubernetes secret volume update."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": list(keys)}))
    os.replace(tmp, path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_script() -> str:
    """The installed `model-api` console entry point next to the running interpreter."""
    path = Path(sys.executable).parent / "model-api"
    if not path.exists():
        pytest.skip(f"console script not installed at {path}; run pip install -e service")
    return str(path)


# -------------------------------------------------------------------------------- raw HTTP
@dataclasses.dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated names joined with ", "
    body: bytes


@dataclasses.dataclass
class RawExchange:
    """What a raw connection saw: the final responses read, and how the exchange ended.

    outcome: "answered" (every expected response arrived complete), "closed" (the server
    closed after some complete responses, e.g. after a 400 that ends the connection),
    "dropped" (closed or reset before any complete response, or in the middle of one),
    "timeout" (no complete answer in time).
    """

    responses: list[RawResponse]
    outcome: str
    detail: str = ""


async def _read_response(reader: asyncio.StreamReader, head_request: bool) -> RawResponse | None:
    """One final response (1xx interim responses skipped); None on a clean EOF before it."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            raise
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            continue
        if head_request or status in (204, 304):
            return RawResponse(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                body += chunk[:-2]
                if size == 0:
                    break
            return RawResponse(status, headers, bytes(body))
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
            return RawResponse(status, headers, body)
        return RawResponse(status, headers, await reader.read())


async def raw_exchange(
    host: str,
    port: int,
    data: bytes,
    timeout: float = 5.0,
    expect: int = 1,
    head_request: bool = False,
    half_close: bool = False,
) -> RawExchange:
    """Connect, send `data` (then shut down writing if half_close), and read up to `expect`
    final responses or until the server closes. Never raises for what the server does."""
    responses: list[RawResponse] = []
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return RawExchange(responses, "dropped", f"connect: {exc!r}")
    try:
        try:
            writer.write(data)
            await writer.drain()
            if half_close and writer.can_write_eof():
                writer.write_eof()
        except OSError:
            pass  # the server may close before reading everything; its answer still counts
        async with asyncio.timeout(timeout):
            while len(responses) < expect:
                response = await _read_response(reader, head_request)
                if response is None:
                    break
                responses.append(response)
            if len(responses) < expect:
                return RawExchange(responses, "closed" if responses else "dropped", "eof")
            return RawExchange(responses, "answered")
    except TimeoutError:
        return RawExchange(responses, "timeout")
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        return RawExchange(responses, "dropped", repr(exc)[:200])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def is_json_error(response: RawResponse) -> bool:
    """The API's error shape: JSON {"error": {"code", "message", "request_id"}}."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        error = json.loads(response.body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (
        isinstance(error, dict)
        and all(isinstance(error.get(k), str) and error[k] for k in ("code", "message"))
        and error.get("request_id") == response.headers.get("x-request-id")
    )
