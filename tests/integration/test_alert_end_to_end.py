"""End to end: errors driven into the faulty canary fire the shipped error-rate alert; Slack
(the local receiver) gets a message with the alert's summary; clearing the fault sends the
resolved message. Rules run with the suite's shortened `for` and windows, Alertmanager with
short timers (see conftest.py); timings are printed and reported, never asserted."""

from __future__ import annotations

import re

import pytest

from tests.support import canary as cs

pytestmark = pytest.mark.slow


def summary_pattern(template: str) -> re.Pattern[str]:
    """The summary annotation as shipped, its {{ ... }} parts matching whatever they render."""
    literal = re.split(r"\{\{.*?\}\}", template.strip())
    return re.compile(".+?".join(re.escape(part) for part in literal))


def test_summary_pattern():
    pattern = summary_pattern("{{ $labels.service }} answers {{ $value | humanizePercentage }} 5xx")
    assert pattern.search("*CRITICAL* model-api-canary answers 40.85% 5xx\n")
    assert not pattern.search("model-api-canary answers 40.85% errors")


def test_error_rate_alert_reaches_slack_with_its_summary(failure_timeline, platform_render):
    t = failure_timeline
    assert t.alert_firing is not None, f"none of {t.alertnames} fired"
    assert t.firing is not None, f"no Slack message for {t.alertnames}"
    fired = next(name for name in t.alertnames if name in t.firing.text)
    shipped = cs.error_rate_alerts(platform_render.shipped)[fired]
    summary = shipped.get("annotations", {}).get("summary", "")
    assert summary, f"{fired} has no summary annotation"
    assert summary_pattern(summary).search(t.firing.text), (summary, t.firing.text)
    assert t.firing.receiver in ("critical", "warning")
    print(f"\nanalysis Failed after {t.analysis_failed}s, Slack message after {t.slack_firing}s")


def test_clearing_the_fault_sends_the_resolved_message(failure_timeline):
    t = failure_timeline
    assert t.resolved is not None, "no resolved message after the fault was cleared"
    assert t.resolved.receiver == t.firing.receiver
    assert any(name in t.resolved.text for name in t.alertnames)
    print(f"\nresolved message {t.slack_resolved - t.fault_cleared:.1f}s after clearing")


def test_the_receiver_only_got_valid_slack_payloads(canary_stack, failure_timeline):
    for notification in canary_stack.receiver.notifications:
        assert notification.path in ("/critical", "/warning"), notification.path
        attachments = notification.body.get("attachments")
        assert attachments and attachments[0].get("title"), notification.body


def test_every_process_listens_on_loopback_only(canary_stack):
    listening = canary_stack.stack.listening()
    assert set(listening) == {
        "model-api-stable",
        "model-api-canary",
        "model-api-idle",
        "alertmanager",
        "prometheus",
    }
    for name, addresses in listening.items():
        assert addresses, f"{name} listens nowhere"
        for address in addresses:
            assert address.startswith("127.0.0.1:"), f"{name} listens on {address}"
    assert canary_stack.receiver.server.server_address[0] == "127.0.0.1"
