"""Prometheus metrics (names and labels are a contract: see CONTRIBUTING.md).

Request counts and durations are aggregated in plain Python on the event loop's thread (no lock
per observation) and turned into metric families only when /metrics is scraped.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

# Buckets around a latency SLO: fine resolution below 100 ms, coarse up to 2.5 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


class RequestCollector(Collector):
    """model_api_requests_total and model_api_request_duration_seconds.

    Routes are templates chosen by the application (or "unmatched"), methods outside a fixed set
    become "OTHER", statuses are HTTP codes: every label is bounded.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}
        # (route, method) -> [per-bucket counts (last = +Inf), sum of seconds]
        self._durations: dict[tuple[str, str], list] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in KNOWN_METHODS:
            method = "OTHER"
        key = (route, method, status)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1
        series = self._durations.get((route, method))
        if series is None:
            series = self._durations[(route, method)] = [[0] * (len(LATENCY_BUCKETS) + 1), 0.0]
        series[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series[1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "model_api_requests",
            "HTTP requests handled, by route template, method and status code.",
            labels=("route", "method", "status"),
        )
        for (route, method, status), count in sorted(self._counts.items()):
            requests.add_metric((route, method, str(status)), count)
        yield requests
        duration = HistogramMetricFamily(
            "model_api_request_duration_seconds",
            "HTTP request duration in seconds, by route template and method.",
            labels=("route", "method"),
        )
        bounds = [*(str(b) for b in LATENCY_BUCKETS), "+Inf"]
        for (route, method), (buckets, total) in sorted(self._durations.items()):
            cumulative, running = [], 0
            for bound, count in zip(bounds, buckets, strict=True):
                running += count
                cumulative.append((bound, running))
            duration.add_metric((route, method), cumulative, total)
        yield duration


class ServiceMetrics:
    """One registry per application, so several apps (tests) never share series."""

    def __init__(self, in_flight: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        self.observe = self.requests.observe
        self.in_flight = Gauge(
            "model_api_requests_in_flight",
            "HTTP requests being handled.",
            registry=self.registry,
        )
        self.in_flight.set_function(in_flight)
        self.model_info = Gauge(
            "model_api_model_info",
            "The model being served (always 1).",
            ("model_name", "model_version"),
            registry=self.registry,
        )
