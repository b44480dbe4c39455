"""A local canary stack: model-api versions, Prometheus, Alertmanager and a Slack-like receiver.

Used by the integration suite (tests/integration/) and the demo (scripts/demo_canary.py). Every
process listens on 127.0.0.1 only (tests/support/process.py: own process groups, stopped for
sure). Built from the support package's concerns: ``process``, ``prometheus`` (Prometheus and
Alertmanager), ``slack`` (the receiver), ``service`` (model-api versions, load), ``render``,
``analysis`` and ``argo_expr``. Here:

- ``CanaryStack``: model-api versions scraped by Prometheus as pods, Alertmanager, the receiver;
- ``run_failure_timeline``: a failing canary under load, timed from the fault to the verdict,
  the alert and the Slack message;
- ``detection_bound``: the time to detect a failing canary with a given set of intervals.

CLI (from the repository root):
  python -m tests.support.canary bound [--render-dir DIR]   # shipped intervals -> computed bound
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support import VENV_BIN, argo_expr
from tests.support.analysis import (
    MetricVerdict,
    analysis_args,
    judge_template,
    overall,
    prometheus_metrics,
)
from tests.support.process import free_port
from tests.support.prometheus import PrometheusStack, alertmanager_slack_sent, seconds
from tests.support.render import Rendered, extract, render_roles, roles_with_kinds
from tests.support.service import LoadGenerator, LoadStats, ServiceVersion
from tests.support.slack import Notification, WebhookReceiver


@dataclass
class CanaryStack(PrometheusStack):
    """The processes of one run: model-api versions, Prometheus, Alertmanager, the receiver.
    Use as a context manager, or call stop() in a finalizer."""

    versions: dict[str, ServiceVersion] = field(default_factory=dict)
    receiver: WebhookReceiver | None = None

    def __enter__(self) -> CanaryStack:
        return self

    def start_service(
        self,
        name: str,
        service: str,
        pod_hash: str,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
    ) -> ServiceVersion:
        """A model-api process with its own API key file and fault file (faults via the file,
        so set_fault/clear_fault change them without a restart)."""
        folder = self.workdir / f"service-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        api_key = f"{name}-key-{os.urandom(6).hex()}"
        keys_file = folder / "api-keys.json"
        keys_file.write_text(json.dumps({"keys": [api_key]}))
        version = ServiceVersion(
            name, service, pod_hash, free_port(), api_key, keys_file, folder / "fault.json"
        )
        self.set_fault(version, error_rate, latency_ms)
        env = dict(self.env)
        env.update(
            {
                "MODEL_API_HOST": "127.0.0.1",
                "MODEL_API_PORT": str(version.port),
                "MODEL_API_API_KEYS_FILE": str(keys_file),
                "MODEL_API_FAULT_FILE": str(version.fault_file),
                "MODEL_API_FILE_CHECK_INTERVAL_SECONDS": "0.2",
                "MODEL_API_ACCESS_LOG_ENABLED": "false",
                "MODEL_API_LOG_LEVEL": "WARNING",
                "MODEL_API_DRAIN_SECONDS": "0",
                "MODEL_API_SHUTDOWN_TIMEOUT_SECONDS": "2",
                "GIT_SHA": pod_hash,
            }
        )
        managed = self.spawn(f"model-api-{name}", [str(VENV_BIN / "model-api")], env)
        self.wait_ready(managed, f"{version.url}/readyz")
        self.versions[name] = version
        return version

    @staticmethod
    def set_fault(version: ServiceVersion, error_rate: float, latency_ms: float = 0.0) -> None:
        """Write the fault file atomically (the service re-reads it within 0.2 s)."""
        tmp = version.fault_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"error_rate": error_rate, "latency_ms": latency_ms}))
        tmp.replace(version.fault_file)

    def clear_fault(self, version: ServiceVersion) -> None:
        self.set_fault(version, 0.0, 0.0)

    def start_receiver(self) -> WebhookReceiver:
        self.receiver = WebhookReceiver()
        return self.receiver

    def scrape_targets(self) -> list[dict[str, Any]]:
        """Each version as one target, with the labels the ServiceMonitor gives its pod."""
        return [
            {"targets": [f"127.0.0.1:{v.port}"], "labels": v.target_labels()}
            for v in self.versions.values()
        ]

    def targets_up(self) -> int:
        values = self.query('count(up{job=~"model-api.*"} == 1)')
        return int(values[0]) if isinstance(values, list) and values else 0

    def stop(self, timeout: float = 10.0) -> None:
        """End every process group started here (ProcessStack.stop) and the receiver."""
        super().stop(timeout)
        if self.receiver:
            self.receiver.stop()
            self.receiver = None


def error_rate_alerts(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """The shipped alerts on the service's 5xx ratio: name -> rule (as shipped)."""
    found = {}
    for groups in rendered.groups.values():
        for group in groups:
            for rule in group.get("rules", []):
                expr = str(rule.get("expr", ""))
                if rule.get("alert") and "model_api_requests_total" in expr and "5" in expr:
                    if re.search(r'status\s*=~?\s*"5', expr) or "error" in rule["alert"].lower():
                        found[rule["alert"]] = rule
    return found


def _mentions(notification: Notification, alertnames: Iterable[str]) -> bool:
    return any(name in notification.text for name in alertnames)


@dataclass
class Timeline:
    """One failing-canary run; times are seconds after the fault was switched on (t0)."""

    alertnames: list[str]
    analysis_failed: float | None = None
    alert_firing: float | None = None  # Prometheus reports the alert firing
    slack_firing: float | None = None
    fault_cleared: float | None = None
    slack_resolved: float | None = None
    failing_verdicts: list[MetricVerdict] = field(default_factory=list)
    firing: Notification | None = None
    resolved: Notification | None = None
    summary: str = ""  # the firing alert's summary as Prometheus rendered it
    load: dict[str, LoadStats] = field(default_factory=dict)


def run_failure_timeline(
    stack: CanaryStack,
    templates: dict[str, dict[str, Any]],
    canary: ServiceVersion,
    others: list[ServiceVersion],
    alertnames: Iterable[str],
    error_rate: float = 0.5,
    latency_ms: float = 600.0,
    poll: float = 1.0,
    timeout: float = 60.0,
    clear: bool = True,
    on_event: Callable[[str], None] = lambda _line: None,
) -> Timeline:
    """Switch the canary's fault on under load, then measure: analysis verdict Failed, alert
    firing, Slack message; clear the fault and wait for the resolved message. Without a local
    receiver (real Slack), a message counts as sent when Alertmanager's Slack counter grows."""
    names = sorted(alertnames)
    timeline = Timeline(names)
    receiver = stack.receiver
    sent_before = 0.0 if receiver else alertmanager_slack_sent(stack.alertmanager_url)
    stack.set_fault(canary, error_rate, latency_ms)
    time.sleep(0.3)  # the service re-reads its fault file every 0.2 s
    t0 = time.monotonic()
    on_event(f"t=0s fault on: {canary.name} answers {error_rate:.0%} 500s, +{latency_ms:.0f} ms")
    load = LoadGenerator(
        [canary, *others],
        total=200_000,
        duration=2 * timeout + 30,
        concurrency={canary.name: 8, **{o.name: 1 for o in others}},
        pause=0.05,
    ).start()

    def elapsed() -> float:
        return round(time.monotonic() - t0, 1)

    try:
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if timeline.analysis_failed is None:
                verdicts = [
                    v
                    for name, template in templates.items()
                    for v in judge_template(stack, name, template, analysis_args(canary))
                ]
                if overall(verdicts) == argo_expr.FAILED:
                    timeline.analysis_failed = elapsed()
                    timeline.failing_verdicts = verdicts
                    on_event(
                        f"t={elapsed()}s analysis Failed: " + "; ".join(v.line() for v in verdicts)
                    )
            if timeline.alert_firing is None:
                for alert in stack.alerts():
                    if alert["labels"].get("alertname") in names and alert["state"] == "firing":
                        timeline.alert_firing = elapsed()
                        timeline.summary = alert.get("annotations", {}).get("summary", "")
                        on_event(
                            f"t={elapsed()}s Prometheus: {alert['labels']['alertname']} firing"
                        )
                        break
            if timeline.slack_firing is None:
                if receiver:
                    n = receiver.wait_for(
                        lambda n: n.status == "firing" and _mentions(n, names), timeout=0
                    )
                    if n:
                        timeline.slack_firing, timeline.firing = elapsed(), n
                        on_event(f"t={elapsed()}s Slack {n.receiver}: {n.text}")
                elif timeline.alert_firing is not None and (
                    alertmanager_slack_sent(stack.alertmanager_url) > sent_before
                ):
                    timeline.slack_firing = elapsed()
                    on_event(f"t={elapsed()}s Alertmanager sent the message to Slack")
            if None not in (timeline.analysis_failed, timeline.slack_firing):
                break
            time.sleep(poll)
        if clear:
            stack.clear_fault(canary)
            timeline.fault_cleared = elapsed()
            on_event(f"t={elapsed()}s fault cleared on {canary.name}")
            sent_mark = 0.0 if receiver else alertmanager_slack_sent(stack.alertmanager_url)
            resolve_deadline = time.monotonic() + timeout
            while time.monotonic() < resolve_deadline:
                if receiver:
                    n = receiver.wait_for(
                        lambda n: n.status == "resolved" and _mentions(n, names), timeout=poll
                    )
                    if n:
                        timeline.slack_resolved, timeline.resolved = elapsed(), n
                        on_event(f"t={elapsed()}s Slack {n.receiver}: {n.text}")
                        break
                else:
                    if alertmanager_slack_sent(stack.alertmanager_url) > sent_mark and not any(
                        a["labels"].get("alertname") in names for a in stack.alerts()
                    ):
                        timeline.slack_resolved = elapsed()
                        on_event(f"t={elapsed()}s Alertmanager sent the resolved message to Slack")
                        break
                    time.sleep(poll)
    finally:
        load.stop()
        timeline.load = load.stats
    return timeline


@dataclass
class Intervals:
    """The settings that decide how fast a failing canary is detected."""

    scrape: float
    evaluation: float
    alert_for: float
    group_wait: float
    analysis_initial_delay: float
    analysis_interval: float
    analysis_failure_limit: int
    source: str = ""


def detection_bound(iv: Intervals) -> dict[str, tuple[float, float]]:
    """(best, worst) seconds from a version starting to fail until the analysis verdict turns
    Failed, and until the Slack message is sent, assuming the failure is strong enough that a
    window holding a few failing scrapes crosses the threshold (a rate needs 2 samples).

    analysis: the first measurement at initialDelay, one every interval; the metric fails at the
      (failureLimit+1)-th failed measurement; data needs 2 scrapes (worst: one more interval).
    alert: 2 scrapes, then the next rule evaluation makes it pending; firing ``for`` later (at
      the first evaluation after it); Prometheus sends at once; Alertmanager waits group_wait
      for a new group.
    """
    data_best, data_worst = iv.scrape, 2 * iv.scrape
    a_first = iv.analysis_initial_delay
    a_best = max(a_first, data_best) + iv.analysis_failure_limit * iv.analysis_interval
    a_worst = (
        max(a_first, data_worst) + iv.analysis_interval
    ) + iv.analysis_failure_limit * iv.analysis_interval
    pending_best, pending_worst = data_best, data_worst + iv.evaluation
    fire_best = pending_best + iv.alert_for
    fire_worst = pending_worst + iv.alert_for + iv.evaluation
    return {
        "analysis_failed": (a_best, a_worst),
        "alert_firing": (fire_best, fire_worst),
        "slack_message": (fire_best + iv.group_wait, fire_worst + iv.group_wait),
    }


def shipped_intervals(shipped_dir: Path, alertname: str | None = None) -> Intervals:
    """The intervals the platform ships, read from the as-shipped render."""
    values_files = list(shipped_dir.glob("monitoring/helm/*.values.yaml"))
    values = yaml.safe_load(values_files[0].read_text()) if values_files else {}
    pspec = (values.get("prometheus") or {}).get("prometheusSpec") or {}
    scrape = seconds(pspec.get("scrapeInterval") or "30s")
    # The Prometheus Operator's default evaluationInterval is 30s when the chart leaves it empty.
    evaluation = seconds(pspec.get("evaluationInterval") or "30s")
    am = yaml.safe_load(
        (shipped_dir / "monitoring" / "alertmanager" / "alertmanager.yml").read_text()
    )
    group_wait = seconds(am["route"].get("group_wait", "30s"))
    rendered = extract(shipped_dir, Path(tempfile.mkdtemp(prefix="rules-")))
    alert_for = 0.0
    for groups in rendered.groups.values():
        for group in groups:
            for rule in group.get("rules", []):
                if rule.get("alert") and (alertname is None or rule["alert"] == alertname):
                    alert_for = seconds(rule.get("for", 0))
    delay, interval, limit = 0.0, 60.0, 0
    for template in rendered.analysis_templates.values():
        for metric in prometheus_metrics(template):
            if metric.get("count") is not None:
                continue  # the promotion gate (an analysis step); the background run aborts first
            delay = max(delay, seconds(metric.get("initialDelay", 0)))
            interval = seconds(metric.get("interval", "60s"))
            limit = int(metric.get("failureLimit", 0))
    return Intervals(scrape, evaluation, alert_for, group_wait, delay, interval, limit, "shipped")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.canary", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bound = sub.add_parser("bound", help="compute the detection bound for the shipped intervals")
    bound.add_argument("--render-dir", type=Path, help="an as-shipped render (default: render now)")
    bound.add_argument(
        "--alert", default="ModelApiHighErrorRate", help="the alert to time (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.command == "bound":
        render_dir = args.render_dir
        if render_dir is None:
            work = Path(tempfile.mkdtemp(prefix="canary-bound-"))
            render_dir = work / "shipped"
            render_roles(roles_with_kinds(), render_dir, work / "stack", work / "secrets")
        iv = shipped_intervals(render_dir, args.alert)
        print(
            json.dumps({"intervals": iv.__dict__, "bound_seconds": detection_bound(iv)}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
