"""Prometheus and Alertmanager on 127.0.0.1 (the Debian binaries), Prometheus durations, and
the suite's shortening of alert rules.

- ``seconds``: a Prometheus duration ("1m30s") in seconds;
- ``shorten_rule_groups``: the suite's shortening of alert rules (``for`` and range windows;
  never applied to analysis queries -- Alertmanager timers are shortened with role variables);
- ``PrometheusStack``: start/stop Prometheus (alone too, to emulate its restart) and
  Alertmanager, query Prometheus (module_utils/prometheus.py, the logic of
  library/prometheus_query.py), read its alerts;
- ``alertmanager_slack_sent``: Slack notifications Alertmanager sent, from its /metrics.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from module_utils import prometheus as prom  # the logic of library/prometheus_query.py
from tests.support.process import ProcessStack, free_port, http_get

PROMETHEUS = os.environ.get("PLATFORM_PROMETHEUS_BIN", "/usr/bin/prometheus")
ALERTMANAGER = os.environ.get("PLATFORM_ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager")


_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}


def seconds(duration: str | int | float | None) -> float:
    """A Prometheus/Go duration ('1m30s', '5m', '250ms') or a number of seconds, as seconds."""
    if duration is None or duration == "":
        return 0.0
    if isinstance(duration, int | float):
        return float(duration)
    text = str(duration).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")


@dataclass(frozen=True)
class Shortening:
    """How the suite shortens alert rules: ``for`` capped at for_, range windows at window."""

    for_: str = "5s"
    window: str = "15s"
    subquery_step: str = "1s"


SUITE_SHORTENING = Shortening()


def shorten_expr(expr: str, shortening: Shortening = SUITE_SHORTENING) -> str:
    """Cap every range selector ``[5m]`` and subquery ``[1h:5m]`` at the shortened window."""
    cap = seconds(shortening.window)

    def replace(m: re.Match[str]) -> str:
        window = m.group(1) if seconds(m.group(1)) <= cap else shortening.window
        if ":" not in m.group(0):
            return f"[{window}]"
        step = m.group(2)
        if step and seconds(step) > seconds(shortening.subquery_step):
            step = shortening.subquery_step
        return f"[{window}:{step or ''}]"

    return _RANGE.sub(replace, expr)


def shorten_rule_groups(
    groups: list[dict[str, Any]], shortening: Shortening = SUITE_SHORTENING
) -> list[dict[str, Any]]:
    """A copy of Prometheus rule groups with ``for``/``keep_firing_for`` capped at
    shortening.for_, range windows capped at shortening.window and group intervals dropped
    (the suite's evaluation_interval applies). Only for rule files; analysis queries stay as
    deployed."""
    out = copy.deepcopy(groups)
    cap = seconds(shortening.for_)
    for group in out:
        group.pop("interval", None)
        for rule in group.get("rules", []):
            rule["expr"] = shorten_expr(str(rule["expr"]), shortening)
            for key in ("for", "keep_firing_for"):
                if key in rule and seconds(rule[key]) > cap:
                    rule[key] = shortening.for_
    return out


@dataclass
class PrometheusStack(ProcessStack):
    """Prometheus and Alertmanager processes; scrape_targets() says what Prometheus scrapes."""

    prometheus_url: str = ""
    alertmanager_url: str = ""

    def scrape_targets(self) -> list[dict[str, Any]]:
        """Prometheus' static_configs for the model-api job (none here)."""
        return []

    def start_alertmanager(self, config_file: Path) -> str:
        port = free_port()
        storage = self.workdir / "alertmanager-data"
        storage.mkdir(exist_ok=True)
        managed = self.spawn(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={config_file}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port: nothing but the web port
                "--log.level=warn",
            ],
        )
        self.alertmanager_url = f"http://127.0.0.1:{port}"
        self.wait_ready(managed, f"{self.alertmanager_url}/-/ready")
        return self.alertmanager_url

    def prometheus_config(
        self,
        rule_files: Iterable[Path],
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
    ) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "evaluation_interval": evaluation_interval,
            },
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {
                    "job_name": "model-api",
                    "static_configs": self.scrape_targets(),
                }
            ],
        }
        if self.alertmanager_url:
            host = self.alertmanager_url.removeprefix("http://")
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        return config

    def start_prometheus(
        self,
        rule_files: Iterable[Path],
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        port: int | None = None,
    ) -> str:
        """Start Prometheus (again, after stop_prometheus, with the same port and storage)."""
        port = port or free_port()
        config_file = self.workdir / "prometheus.yml"
        config = self.prometheus_config(rule_files, scrape_interval, evaluation_interval)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        storage = self.workdir / "prometheus-data"
        storage.mkdir(exist_ok=True)
        managed = self.spawn(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
        )
        self.prometheus_url = f"http://127.0.0.1:{port}"
        self.wait_ready(managed, f"{self.prometheus_url}/-/ready")
        return self.prometheus_url

    def stop_prometheus(self, timeout: float = 10.0) -> int:
        """Stop Prometheus alone (SIGTERM, like a pod being replaced); returns its port so
        start_prometheus(..., port=...) brings it back at the same address and storage."""
        port = int(self.prometheus_url.rsplit(":", 1)[1])
        self.stop_process("prometheus", timeout)
        return port

    def query(self, promql: str) -> list[float] | float:
        """An instant query, its result shaped as Argo's Prometheus provider passes it to the
        conditions: a list of floats for a vector (empty when no series), a float for a scalar."""
        data = prom.instant_query(self.prometheus_url, promql, timeout=10)
        result_type, samples = prom.parse_result(data)
        values = [s["value"] for s in samples]
        return values[0] if result_type == "scalar" else values

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' active alerts (pending and firing)."""
        _status, body = http_get(f"{self.prometheus_url}/api/v1/alerts")
        return json.loads(body)["data"]["alerts"]

    def alert_state(self, alertname: str) -> str:
        states = {a["state"] for a in self.alerts() if a["labels"].get("alertname") == alertname}
        return "firing" if "firing" in states else ("pending" if states else "inactive")


def alertmanager_slack_sent(alertmanager_url: str) -> float:
    """Slack notifications Alertmanager sent successfully (from its own /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    _status, body = http_get(f"{alertmanager_url}/metrics")
    sent = failed = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.labels.get("integration") != "slack":
                continue
            if sample.name == "alertmanager_notifications_total":
                sent += sample.value
            elif sample.name == "alertmanager_notifications_failed_total":
                failed += sample.value
    return sent - failed
