"""A client sending garbage to a healthy canary must not fail it or page anyone (issue 19).

The success-rate analysis and the error-rate alert count only what the server caused: their
queries put `status=~"5.."` over all requests of the API routes (`route=~"/v1/.*"`), so 4xx
answers count as served, and requests aiohttp's parser rejects or that match no route
(`route="unmatched"`) are outside both. This holds only if the service never answers a
client's mistake with a 5xx; before issue 19 a corrupt gzip body with a valid key was a 500.

Judged against real Prometheus scraping a real `model-api` process of the stack (the "stable"
version, used here as the canary under analysis): valid predictions plus the fuzz script's
malformed requests (service/tests/http_fuzz.py) and corrupt gzip bodies, then the shipped
AnalysisTemplates' own queries and the shipped error-rate alert expressions.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time

import http_fuzz  # service/tests (pyproject.toml: pytest pythonpath)
import pytest
from model_api_testing import raw_exchange

from tests.support import analysis, argo_expr, service
from tests.support import canary as cs

pytestmark = pytest.mark.slow

GOOD = json.dumps(service.PREDICTION).encode()


def corrupt_gzip_request(key: str, n: int) -> bytes:
    """The issue's case: an authenticated POST whose body claims gzip but is not (was a 500)."""
    body = [gzip.compress(GOOD)[:-8], b"not gzip", gzip.compress(GOOD) + b"junk"][n % 3]
    return (
        "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def send_garbage(
    version: service.ServiceVersion, waves: int, fuzz: int, corrupt: int
) -> dict:
    """Waves of malformed requests a few seconds apart, so that the 4xx series keep growing
    across scrapes and rate() over them is not zero (a burst would land in one scrape)."""
    statuses: dict[int, int] = {}

    async def corrupt_gzip(n: int) -> None:
        request = corrupt_gzip_request(version.api_key, n)
        exchange = await raw_exchange("127.0.0.1", version.port, request, timeout=5)
        for response in exchange.responses:
            statuses[response.status] = statuses.get(response.status, 0) + 1
        if not exchange.responses:
            statuses[0] = statuses.get(0, 0) + 1  # no answer

    tasks = []
    for wave in range(waves):
        # timeout > the service's MODEL_API_BODY_TIMEOUT_SECONDS (10 s by default; the stack
        # does not set it): a body shorter than its Content-Length is answered 408 only then.
        tasks.append(
            asyncio.create_task(
                http_fuzz.fuzz(
                    "127.0.0.1",
                    version.port,
                    version.api_key,
                    fuzz,
                    seed=1919 + wave,
                    concurrency=8,
                    timeout=12,
                )
            )
        )
        for n in range(corrupt):
            await corrupt_gzip(n)
        await asyncio.sleep(2)
    tallies = await asyncio.gather(*tasks)
    return {"fuzz": tallies, "corrupt_gzip": statuses}


def pod_selector(version: service.ServiceVersion) -> str:
    return f'rollouts_pod_template_hash="{version.pod_hash}"'


def restricted(expr: str, version: service.ServiceVersion) -> str:
    """A shipped expression limited to one pod: the other versions of the session's stack
    (the faulty canary's drill) share the service label."""
    return expr.replace(
        "model_api_requests_total{", f"model_api_requests_total{{{pod_selector(version)}, "
    )


def test_garbage_from_a_client_does_not_fail_a_healthy_canary(canary_stack, platform_render):
    stack, version = canary_stack.stack, canary_stack.stable
    templates = {
        name: t
        for name, t in platform_render.shipped.analysis_templates.items()
        if analysis.prometheus_metrics(t)
    }
    assert templates, "no Prometheus AnalysisTemplate rendered (roles/model_api)"
    alerts = cs.error_rate_alerts(platform_render.shipped)
    assert alerts, "no shipped alert on the 5xx ratio of model_api_requests_total"

    load = service.LoadGenerator([version], total=4000, duration=30, concurrency=2).start()
    garbage = asyncio.run(send_garbage(version, waves=6, fuzz=80, corrupt=25))
    # The client got what issue 19 promises: no 5xx, JSON errors, no dropped connection.
    for tally in garbage["fuzz"]:
        assert not tally.broken, "\n".join(tally.problems)
    assert set(garbage["corrupt_gzip"]) == {400}, garbage["corrupt_gzip"]

    verdicts: list[analysis.MetricVerdict] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        time.sleep(1)
        verdicts = [
            v
            for name, template in templates.items()
            for v in analysis.judge_template(stack, name, template, analysis.analysis_args(version))
        ]
        if analysis.overall(verdicts) == argo_expr.SUCCESSFUL:
            break
    load.join()
    report = "\n".join(f"{v.line()}\n    {v.query}" for v in verdicts)
    assert load.stats[version.name].by_status.get(200, 0) > 0, load.stats
    assert analysis.overall(verdicts) == argo_expr.SUCCESSFUL, report

    # The garbage reached Prometheus inside the analysis' selection and window, as 4xx, and no
    # 5xx did: counting 4xx as failures would have failed this canary.
    sel = f'{pod_selector(version)}, route=~"/v1/.*"'
    client_errors = stack.query(f'sum(rate(model_api_requests_total{{{sel}, status=~"4.."}}[2m]))')
    served = stack.query(f"sum(rate(model_api_requests_total{{{sel}}}[2m]))")
    assert client_errors and served, (client_errors, served)
    assert client_errors[0] / served[0] > 0.05, (client_errors, served)
    assert stack.query(f'model_api_requests_total{{{pod_selector(version)}, status=~"5.."}}') == []

    # The shipped error-rate alert expressions, on this pod: no 5xx -> no alert; the same
    # expression counting 4xx too would be far above its threshold.
    for name, rule in alerts.items():
        expr = restricted(str(rule["expr"]), version)
        assert stack.query(expr) == [], (name, expr)
        with_4xx = re.sub(r'status\s*=~\s*"5\.\."', 'status=~"[45].."', expr)
        assert with_4xx != expr, (name, expr)
        assert stack.query(with_4xx), (name, with_4xx)
