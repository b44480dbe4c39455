"""Graceful shutdown of the real console entry point under concurrent load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from model_api_testing import GOOD_ROW, KEY, console_script, free_port, write_keys

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        keys = tmp_path / "keys.json"
        write_keys(keys, KEY)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (tmp_path / "server.log").open("w+")
        self.proc = subprocess.Popen(
            [console_script()],
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "MODEL_API_HOST": "127.0.0.1",
                "MODEL_API_PORT": str(self.port),
                "MODEL_API_API_KEYS_FILE": str(keys),
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                async with session.get(self.base + "/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("server did not become ready:\n" + self.output())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(tmp_path, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


async def predict(session: aiohttp.ClientSession, base: str) -> int:
    async with session.post(
        base + "/v1/predict",
        json={"instances": [GOOD_ROW]},
        headers={"Authorization": f"Bearer {KEY}"},
    ) as resp:
        await resp.read()
        return resp.status


def test_sigterm_under_load_drains_without_failed_requests(server_factory) -> None:
    drain = 3.0
    # A little latency keeps requests in flight at every moment, including the signal.
    server = server_factory(MODEL_API_DRAIN_SECONDS=str(drain), MODEL_API_FAULT_LATENCY_MS="20")

    async def scenario() -> tuple[Counter, list[str], list[int], float]:
        statuses: Counter = Counter()
        failures: list[str] = []
        stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            await server.wait_ready(session)

            async def worker() -> None:
                while not stop.is_set():
                    try:
                        statuses[await predict(session, server.base)] += 1
                    except aiohttp.ClientError as exc:
                        failures.append(repr(exc))

            workers = [asyncio.create_task(worker()) for _ in range(16)]
            await asyncio.sleep(1.0)
            before = sum(statuses.values())
            server.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            readiness: list[int] = []
            while time.monotonic() - signalled < 1.0:
                async with aiohttp.ClientSession() as probe:  # a fresh connection, like kubelet
                    async with probe.get(server.base + "/readyz") as resp:
                        readiness.append(resp.status)
                if resp.status == 503:
                    break
                await asyncio.sleep(0.02)
            # Keep loading through most of the drain period: the server must keep serving.
            await asyncio.sleep(drain - 1.0 - (time.monotonic() - signalled))
            stop.set()
            await asyncio.gather(*workers)
            return statuses, failures, readiness, sum(statuses.values()) - before

    statuses, failures, readiness, after_signal = asyncio.run(scenario())
    code = server.proc.wait(timeout=30)
    output = server.output()
    assert failures == [], output
    assert set(statuses) == {200}, statuses
    assert after_signal > 0  # requests were served after SIGTERM, during the drain
    assert readiness[-1] == 503, readiness  # readiness failed while requests still succeed
    assert code == 0, output
    messages = [json.loads(line)["message"] for line in output.splitlines() if line.startswith("{")]
    assert "draining: readiness now fails; still serving" in messages
    assert messages[-1] == "stopped"


def test_in_flight_request_finishes_after_the_drain(server_factory) -> None:
    server = server_factory(MODEL_API_DRAIN_SECONDS="0", MODEL_API_FAULT_LATENCY_MS="800")

    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            await server.wait_ready(session)
            slow = asyncio.create_task(predict(session, server.base))
            await asyncio.sleep(0.3)  # the request is now sleeping inside the handler
            server.proc.send_signal(signal.SIGTERM)
            return await slow

    assert asyncio.run(scenario()) == 200
    assert server.proc.wait(timeout=30) == 0, server.output()


@pytest.mark.parametrize(("loop", "expected"), [(None, "uvloop"), ("asyncio", "asyncio")])
def test_entry_point_reports_its_event_loop_and_parser(server_factory, loop, expected) -> None:
    """The bench compares servers on the same loop and parser: the service says which."""
    server = server_factory(**({"MODEL_API_EVENT_LOOP": loop} if loop else {}))

    async def ready() -> None:
        async with aiohttp.ClientSession() as session:
            await server.wait_ready(session)

    asyncio.run(ready())
    lines = [json.loads(line) for line in server.output().splitlines() if '"listening"' in line]
    assert len(lines) == 1, server.output()
    assert lines[0]["event_loop"].split(".")[0] == expected
    assert lines[0]["http_parser"] == "llhttp"
