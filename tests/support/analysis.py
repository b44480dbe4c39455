"""Argo Rollouts analysis against the stack's real Prometheus.

- ``judge_template``: one measurement of each Prometheus metric of an AnalysisTemplate, judged
  by its conditions (tests/support/argo_expr.py);
- ``AnalysisRunEmulator``: an AnalysisRun measured on the controller's schedule (interval, the
  10 s error retry, the metric's limits).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from module_utils import prometheus as prom
from tests.support import argo_expr
from tests.support.prometheus import PrometheusStack, seconds
from tests.support.service import NAMESPACE, ServiceVersion

_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def template_args(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """The template's args with the given values (template defaults otherwise)."""
    args: dict[str, str] = {}
    for arg in template.get("spec", {}).get("args", []) or []:
        if "value" in arg:
            args[arg["name"]] = str(arg["value"])
    args.update(given)
    return args


def substitute_args(text: str, args: dict[str, str]) -> str:
    """Replace {{args.NAME}} as Argo does; a missing argument is an error (Argo refuses too)."""

    def replace(m: re.Match[str]) -> str:
        if m.group(1) not in args:
            raise KeyError(f"argument {m.group(1)!r} has no value")
        return args[m.group(1)]

    return _ARG.sub(replace, text)


@dataclass
class MetricVerdict:
    template: str
    metric: str
    query: str
    result: Any
    phase: str  # one measurement's phase (argo_expr.measurement_phase)
    success_condition: str
    failure_condition: str

    def line(self) -> str:
        shown = self.result
        if isinstance(shown, list):
            shown = "[" + ", ".join(f"{v:.4g}" for v in shown) + "]"
        return f"{self.template}/{self.metric}: result={shown} -> {self.phase}"


def prometheus_metrics(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m
        for m in template.get("spec", {}).get("metrics", [])
        if "prometheus" in m.get("provider", {})
    ]


def judge_template(
    stack: PrometheusStack, name: str, template: dict[str, Any], args: dict[str, str]
) -> list[MetricVerdict]:
    """One measurement of each Prometheus metric of the template, judged by its conditions."""
    values = template_args(template, args)
    out = []
    for metric in prometheus_metrics(template):
        query = substitute_args(metric["provider"]["prometheus"]["query"], values)
        try:
            result: Any = stack.query(query)
            phase = argo_expr.metric_verdict(metric, result)
        except prom.PrometheusError as exc:
            result, phase = f"query error: {exc}", argo_expr.ERROR
        out.append(
            MetricVerdict(
                name,
                metric["name"],
                query,
                result,
                phase,
                metric.get("successCondition", ""),
                metric.get("failureCondition", ""),
            )
        )
    return out


def overall(verdicts: Iterable[MetricVerdict]) -> str:
    """The worst phase, in Argo's order (Error > Failed > Inconclusive > Successful)."""
    order = [argo_expr.SUCCESSFUL, argo_expr.INCONCLUSIVE, argo_expr.FAILED, argo_expr.ERROR]
    phases = [v.phase for v in verdicts]
    return max(phases, key=order.index) if phases else argo_expr.SUCCESSFUL


# ------------------------------------------------------------------------- analysis run emulator
@dataclass
class Measurement:
    at: float  # seconds after the run started
    phase: str
    result: Any


@dataclass
class MetricRun:
    template: str
    metric: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    phase: str = "Pending"

    @property
    def phases(self) -> list[str]:
        return [m.phase for m in self.measurements]

    def limits(self) -> dict[str, Any]:
        """The metric's limits as argo_expr.metric_phase takes them (controller defaults)."""
        metric = self.metric
        count = metric.get("count")
        return {
            "failure_limit": int(metric.get("failureLimit", 0)),
            "inconclusive_limit": int(metric.get("inconclusiveLimit", 0)),
            "consecutive_error_limit": int(
                metric.get("consecutiveErrorLimit", argo_expr.DEFAULT_CONSECUTIVE_ERROR_LIMIT)
            ),
            "count": int(count) if count is not None else None,
        }


class AnalysisRunEmulator:
    """One AnalysisRun of Prometheus metrics, measured on the controller's schedule against the
    stack's real Prometheus (argo-rollouts v1.9.0 analysis/analysis.go generateMetricTasks and
    assessMetricStatus): the first measurement after initialDelay, the next one interval after a
    measurement finished -- or ERROR_RETRY_SECONDS (10 s) after an Error, whatever the interval;
    a metric completes when argo_expr.metric_phase says so with its limits; the run ends at the
    first completed metric or after ``duration``. Runs in a thread (start/join) so a test can
    act on the stack meanwhile; ``on_event`` gets one line per measurement."""

    def __init__(
        self,
        stack: PrometheusStack,
        templates: dict[str, dict[str, Any]],
        args: dict[str, str],
        duration: float,
        on_event: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.stack = stack
        self.args = args
        self.duration = duration
        self.on_event = on_event
        self.metrics = [
            MetricRun(name, metric)
            for name, template in templates.items()
            for metric in prometheus_metrics(template)
        ]
        self._templates = templates
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.started = 0.0

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def measure(self, run: MetricRun) -> Measurement:
        template = self._templates[run.template]
        query = substitute_args(
            run.metric["provider"]["prometheus"]["query"], template_args(template, self.args)
        )
        try:
            result: Any = self.stack.query(query)
            phase = argo_expr.metric_verdict(run.metric, result)
        except (prom.PrometheusError, OSError) as exc:
            result, phase = f"query error: {exc}", argo_expr.ERROR
        measurement = Measurement(self.elapsed(), phase, result)
        run.measurements.append(measurement)
        run.phase = argo_expr.metric_phase(run.phases, **run.limits())
        name = f"{run.template}/{run.metric['name']}"
        self.on_event(f"t={measurement.at}s {name}: {phase} -> metric {run.phase}")
        return measurement

    def run(self) -> None:
        self.started = time.monotonic()
        due = {id(r): seconds(r.metric.get("initialDelay")) for r in self.metrics}
        while not self._stop.is_set() and self.elapsed() < self.duration:
            pending = [r for r in self.metrics if r.phase in ("Pending", argo_expr.RUNNING)]
            if len(pending) < len(self.metrics):
                break  # a metric completed: the run is decided
            run = min(pending, key=lambda r: due[id(r)])
            wait = due[id(run)] - self.elapsed()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            measurement = self.measure(run)
            pause = (
                argo_expr.ERROR_RETRY_SECONDS
                if measurement.phase == argo_expr.ERROR
                else seconds(run.metric.get("interval") or argo_expr.ERROR_RETRY_SECONDS)
            )
            due[id(run)] = self.elapsed() + pause

    def start(self) -> AnalysisRunEmulator:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout if timeout is not None else self.duration + 30)

    def stop(self) -> None:
        self._stop.set()
        self.join()

    @property
    def phase(self) -> str:
        """The run's phase so far: the worst completed metric's, else Running."""
        order = [argo_expr.SUCCESSFUL, argo_expr.INCONCLUSIVE, argo_expr.FAILED, argo_expr.ERROR]
        done = [r.phase for r in self.metrics if r.phase in order]
        return max(done, key=order.index) if done else argo_expr.RUNNING


def analysis_args(version: ServiceVersion) -> dict[str, str]:
    """The AnalysisTemplate args the Rollout passes, for a version of this stack."""
    return {
        "namespace": NAMESPACE,
        "service-name": version.service,
        "canary-hash": version.pod_hash,
    }
