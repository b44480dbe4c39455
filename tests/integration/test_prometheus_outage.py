"""A Prometheus restart in the middle of a healthy canary analysis must not fail the release.

A second Prometheus (same scrape configuration as the stack's) serves an AnalysisRun of the
shipped Prometheus templates, measured on the controller's schedule (tests/support/analysis.py
AnalysisRunEmulator: argo-rollouts v1.9.0 analysis/analysis.go -- an errored measurement is
retried after 10 s whatever the interval, the metric errors when consecutive errors exceed
consecutiveErrorLimit). The healthy version gets load throughout; Prometheus is stopped for 45 s
right after a measurement and started again on the same storage.

The suite measures every 5 s instead of the shipped 1m (only the interval and the initial delay
are changed; limits, conditions and queries are as shipped). A shorter interval is the harder
case: the outage then starts right at a measurement and yields the most errors in a row; errors
are retried every 10 s in both cases.
"""

from __future__ import annotations

import copy
import time

import pytest

from tests.support import analysis, argo_expr, service
from tests.support import canary as cs

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 45
SUITE_INTERVAL = "5s"


@pytest.fixture(scope="module")
def outage_stack(canary_stack, tmp_path_factory, request):
    """A Prometheus of its own scraping the stack's model-api processes; the session's
    Prometheus (alerts, other tests) is never stopped."""
    stack = cs.CanaryStack(
        tmp_path_factory.mktemp("outage"), versions=dict(canary_stack.stack.versions)
    )

    def stop_and_check():
        stack.stop()
        assert not stack.leftovers(), stack.leftovers()

    request.addfinalizer(stop_and_check)
    stack.start_prometheus([])
    deadline = time.monotonic() + 20
    while stack.targets_up() < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stack.targets_up() == 3
    return stack


def suite_templates(platform_render):
    """The shipped background templates (the gate templates have a count and are judged the
    same way), measured every SUITE_INTERVAL from the start."""
    out = {}
    for name, template in platform_render.shipped.analysis_templates.items():
        if not analysis.prometheus_metrics(template) or name.endswith("-gate"):
            continue
        template = copy.deepcopy(template)
        for metric in analysis.prometheus_metrics(template):
            metric["interval"] = SUITE_INTERVAL
            metric["initialDelay"] = "0s"
        out[name] = template
    assert len(out) == 2, sorted(out)
    return out


def test_a_45_second_prometheus_outage_does_not_fail_a_healthy_analysis(
    canary_stack, outage_stack, platform_render
):
    templates = suite_templates(platform_render)
    healthy = canary_stack.stable
    lines: list[str] = []
    load = service.LoadGenerator([healthy], total=200_000, duration=150, concurrency=2, pause=0.05)
    load.start()
    try:
        # let the rate() windows fill before the first measurement
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            verdicts = [
                v
                for name, t in templates.items()
                for v in analysis.judge_template(
                    outage_stack, name, t, analysis.analysis_args(healthy)
                )
            ]
            if analysis.overall(verdicts) == argo_expr.SUCCESSFUL:
                break
            time.sleep(1)
        run = analysis.AnalysisRunEmulator(
            outage_stack,
            templates,
            analysis.analysis_args(healthy),
            duration=OUTAGE_SECONDS + 25,
            on_event=lines.append,
        ).start()
        # two healthy rounds, then stop Prometheus right after a measurement
        first = run.metrics[0]
        deadline = time.monotonic() + 30
        while len(first.measurements) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.phases[:2] == [argo_expr.SUCCESSFUL] * 2, "\n".join(lines)
        port = outage_stack.stop_prometheus()
        lines.append(f"t={run.elapsed()}s Prometheus stopped")
        time.sleep(OUTAGE_SECONDS)
        outage_stack.start_prometheus([], port=port)
        lines.append(f"t={run.elapsed()}s Prometheus started again")
        run.join()
    finally:
        load.stop()
    report = "\n".join(["analysis during the outage:", *lines])
    print(report)

    for metric in run.metrics:
        errors = metric.phases.count(argo_expr.ERROR)
        limits = metric.limits()
        # the outage was seen: at least 4 errors in a row (the old limit of 3 failed here) ...
        streak = longest = 0
        for phase in metric.phases:
            streak = streak + 1 if phase == argo_expr.ERROR else 0
            longest = max(longest, streak)
        assert longest >= 4, report
        assert errors >= 4, report
        # ... and measurements after it passed again
        assert metric.phases[-1] == argo_expr.SUCCESSFUL, report
        assert metric.phase in (argo_expr.RUNNING, argo_expr.SUCCESSFUL), report
        # the same sequence with the old consecutiveErrorLimit (3) errors the run and aborts
        old = dict(limits, consecutive_error_limit=3)
        errored_prefix = metric.phases[: metric.phases.index(argo_expr.ERROR) + 4]
        assert argo_expr.metric_phase(errored_prefix, **old) == argo_expr.ERROR
    assert run.phase not in (argo_expr.FAILED, argo_expr.ERROR), report
    assert set(load.stats["stable"].by_status) == {200}, load.stats
