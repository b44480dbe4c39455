"""The AnalysisTemplates' own queries and conditions, as deployed (only {{args.*}} substituted),
judged against real Prometheus data: a healthy canary passes, a faulty one fails, a canary
without traffic gets the documented verdict. Queries go through module_utils/prometheus.py
(the logic of library/prometheus_query.py); verdicts through tests/support/argo_expr.py."""

from __future__ import annotations

import time

import pytest

from tests.support import analysis, argo_expr, service

pytestmark = pytest.mark.slow

# docs/ADRs/0005-analysis-semantics.md and module_utils/prometheus.py: an empty result or a NaN
# cannot be judged -- the measurement is Inconclusive (the Rollout pauses), never a pass.
NO_TRAFFIC_VERDICT = argo_expr.INCONCLUSIVE


def judge_all(stack, templates, version):
    return [
        verdict
        for name, template in templates.items()
        for verdict in analysis.judge_template(
            stack, name, template, analysis.analysis_args(version)
        )
    ]


def report(verdicts) -> str:
    return "\n".join(f"{v.line()}\n    {v.query}" for v in verdicts)


@pytest.fixture(scope="module")
def templates(platform_render):
    rendered = platform_render.shipped.analysis_templates
    assert rendered, "no AnalysisTemplate rendered (roles/model_api)"
    # The fallback template (web checks, no Prometheus) is judged by Argo's web provider, not here.
    found = {name: t for name, t in rendered.items() if analysis.prometheus_metrics(t)}
    assert len(found) >= 2, f"expected the success-rate and latency templates, got {sorted(found)}"
    return found


def test_templates_select_canary_pods_by_the_pod_template_hash(templates):
    for name, template in templates.items():
        for metric in analysis.prometheus_metrics(template):
            query = metric["provider"]["prometheus"]["query"]
            assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in query, (name, query)
            assert metric.get("successCondition") or metric.get("failureCondition"), name


def test_healthy_canary_passes(canary_stack, templates):
    stable = canary_stack.stable
    load = service.LoadGenerator([stable], total=2000, duration=8, concurrency=2).start()
    verdicts = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1)
        verdicts = judge_all(canary_stack.stack, templates, stable)
        if analysis.overall(verdicts) == argo_expr.SUCCESSFUL:
            break
    load.join()
    assert load.stats["stable"].by_status.get(200, 0) > 0, load.stats
    assert set(load.stats["stable"].by_status) == {200}, load.stats
    assert analysis.overall(verdicts) == argo_expr.SUCCESSFUL, report(verdicts)


def test_faulty_canary_fails(failure_timeline):
    verdicts = failure_timeline.failing_verdicts
    assert failure_timeline.analysis_failed is not None, "the faulty canary never failed analysis"
    assert analysis.overall(verdicts) == argo_expr.FAILED, report(verdicts)
    load = failure_timeline.load["canary"]
    assert load.by_status.get(500, 0) > 0 and load.by_status.get(200, 0) > 0, load


def test_canary_without_traffic_gets_the_documented_verdict(canary_stack, templates):
    idle = canary_stack.idle
    assert canary_stack.stack.query(f'up{{rollouts_pod_template_hash="{idle.pod_hash}"}}') == [1]
    verdicts = judge_all(canary_stack.stack, templates, idle)
    assert verdicts
    for verdict in verdicts:
        assert verdict.phase == NO_TRAFFIC_VERDICT, report(verdicts)
