"""model-api processes as the pods of a Rollout's ReplicaSets, and closed-loop load on them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

NAMESPACE = "model-api"
# A valid prediction for the packaged model (8 features).
PREDICTION = {"instances": [[0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 3.0, 0.25]]}


@dataclass
class ServiceVersion:
    """One model-api process, scraped as one pod of a Rollout's ReplicaSet."""

    name: str  # e.g. stable, canary
    service: (
        str  # the Service its ServiceMonitor scrapes: the root Service, model-api, for every pod
    )
    pod_hash: str  # rollouts-pod-template-hash
    port: int
    api_key: str
    keys_file: Path
    fault_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pod(self) -> str:
        return f"model-api-{self.pod_hash}-{self.name[:5]}"

    def target_labels(self) -> dict[str, str]:
        """What the ServiceMonitor gives the target in the cluster (CONTRIBUTING.md)."""
        return {
            "job": self.service,
            "namespace": NAMESPACE,
            "service": self.service,
            "pod": self.pod,
            "container": "model-api",
            "endpoint": "http",
            "rollouts_pod_template_hash": self.pod_hash,
        }


@dataclass
class LoadStats:
    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # transport errors (no HTTP status)


class LoadGenerator:
    """Closed-loop load: ``concurrency`` workers per target each send a valid prediction, await
    the answer, pause, repeat; stops after ``total`` requests or ``duration`` seconds, whichever
    comes first (or at stop()). Runs its own event loop in a thread."""

    def __init__(
        self,
        targets: list[ServiceVersion],
        total: int,
        duration: float,
        concurrency: int | dict[str, int] = 2,
        pause: float = 0.02,
    ) -> None:
        self.targets = targets
        self.total = total
        self.duration = duration
        # workers per target: an int for all, or {version name: workers}
        self.concurrency = (
            concurrency if isinstance(concurrency, dict) else {t.name: concurrency for t in targets}
        )
        self.pause = pause  # think time between a worker's requests: bounds the CPU it takes
        self.stats = {t.name: LoadStats() for t in targets}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LoadGenerator:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout if timeout is not None else self.duration + 30)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    async def _run(self) -> None:
        import aiohttp  # the project's .venv has it; imported here so the CLI needs less

        deadline = time.monotonic() + self.duration
        budget = [self.total]
        body = json.dumps(PREDICTION)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def worker(target: ServiceVersion) -> None:
                headers = {
                    "Authorization": f"Bearer {target.api_key}",
                    "Content-Type": "application/json",
                }
                stats = self.stats[target.name]
                while not self._stop.is_set() and time.monotonic() < deadline and budget[0] > 0:
                    budget[0] -= 1
                    stats.sent += 1
                    try:
                        async with session.post(
                            f"{target.url}/v1/predict", data=body, headers=headers
                        ) as resp:
                            await resp.read()
                            stats.by_status[resp.status] = stats.by_status.get(resp.status, 0) + 1
                    except (aiohttp.ClientError, TimeoutError):
                        stats.errors += 1
                    if self.pause:
                        await asyncio.sleep(self.pause)

            await asyncio.gather(
                *(worker(t) for t in self.targets for _ in range(self.concurrency.get(t.name, 0)))
            )
