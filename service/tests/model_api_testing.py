"""Helpers for the model_api tests: a synchronous facade over aiohttp's test server."""

from __future__ import annotations

import asyncio
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


class SyncApi:
    """Runs the app on a private event loop; each call drives one request to completion."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

        async def start() -> TestClient:
            client = TestClient(TestServer(app))
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
