"""The suite's shortening transform (tests/support/prometheus.py): what it changes and what not."""

from __future__ import annotations

import pytest

from tests.support import analysis, prometheus
from tests.support import canary as cs


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5m", 300), ("1m30s", 90), ("250ms", 0.25), ("1h", 3600), ("15", 15), (30, 30), ("", 0)],
)
def test_seconds(text, expected):
    assert prometheus.seconds(text) == expected


@pytest.mark.parametrize("text", ["5 m", "m5", "1.5m", "5mm"])
def test_seconds_rejects(text):
    with pytest.raises(ValueError, match="not a duration"):
        prometheus.seconds(text)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(x[5m])", "rate(x[15s])"),
        ("rate(x[1h30m]) / rate(y[ 1m ])", "rate(x[15s]) / rate(y[15s])"),
        ("rate(x[10s])", "rate(x[10s])"),  # already short: unchanged
        ("max_over_time(rate(x[5m])[1h:5m])", "max_over_time(rate(x[15s])[15s:1s])"),
        ("max_over_time(x[30m:])", "max_over_time(x[15s:])"),
        ('x{status=~"[45].."} > 0', 'x{status=~"[45].."} > 0'),  # a regex class is no window
        ("x offset 5m", "x offset 5m"),
    ],
)
def test_shorten_expr(expr, expected):
    assert prometheus.shorten_expr(expr) == expected


def test_shorten_rule_groups_caps_for_and_windows_and_keeps_the_rest():
    groups = [
        {
            "name": "g",
            "interval": "1m",
            "rules": [
                {
                    "alert": "A",
                    "expr": "rate(x[5m]) > 0.1",
                    "for": "10m",
                    "labels": {"severity": "critical"},
                    "annotations": {"summary": "over 5m"},
                },
                {"alert": "B", "expr": "up == 0", "for": "2s"},
                {"record": "r:rate5m", "expr": "rate(x[5m])"},
            ],
        }
    ]
    out = prometheus.shorten_rule_groups(groups)
    assert groups[0]["rules"][0]["for"] == "10m", "the input must not change"
    rules = out[0]["rules"]
    assert "interval" not in out[0]
    assert rules[0] == {
        "alert": "A",
        "expr": "rate(x[15s]) > 0.1",
        "for": "5s",
        "labels": {"severity": "critical"},
        "annotations": {"summary": "over 5m"},
    }
    assert rules[1]["for"] == "2s"
    assert rules[2] == {"record": "r:rate5m", "expr": "rate(x[15s])"}


def test_analysis_queries_are_substituted_not_shortened():
    template = {
        "spec": {
            "args": [{"name": "namespace", "value": "model-api"}, {"name": "canary-hash"}],
            "metrics": [],
        }
    }
    query = 'sum(rate(x{namespace="{{args.namespace}}",h="{{ args.canary-hash }}"}[5m]))'
    args = analysis.template_args(template, {"canary-hash": "abc"})
    assert (
        analysis.substitute_args(query, args) == 'sum(rate(x{namespace="model-api",h="abc"}[5m]))'
    )
    with pytest.raises(KeyError, match="canary-hash"):
        analysis.substitute_args(query, analysis.template_args(template, {}))


def test_detection_bound_adds_up_the_intervals():
    iv = cs.Intervals(
        scrape=30,
        evaluation=30,
        alert_for=300,
        group_wait=30,
        analysis_initial_delay=60,
        analysis_interval=60,
        analysis_failure_limit=2,
    )
    bound = cs.detection_bound(iv)
    assert bound["analysis_failed"] == (60 + 2 * 60, 60 + 60 + 2 * 60)
    assert bound["alert_firing"] == (30 + 300, 60 + 30 + 300 + 30)
    assert bound["slack_message"] == (30 + 300 + 30, 60 + 30 + 300 + 30 + 30)
