"""Every label a dashboard, an alert rule or an analysis query uses exists in what the service or
the Argo Rollouts controller exports, as Prometheus stores it.

- The service: every model_api_* and up series of the running stack's Prometheus (real processes,
  scraped with the target labels the model-api ServiceMonitor gives pods; tests/support/service.py).
- The controller: tests/integration/data/argo-rollouts-metrics.yml (names, labels and label values
  from argo-rollouts v1.9.0 controller/metrics, plus the ServiceMonitor's target labels).

Each PromQL expression is checked label by label: a matcher {label=...} against its own metric, a
grouping or matching label (by, without, on, ignoring, group_left/right) and a legend or annotation
{{label}} against the union of the expression's metrics; a matched value of a label with a known
value set (rollout_info's phase, the event reason) against that set.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.support import analysis, process, service

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CONTROLLER = yaml.safe_load((HERE / "data" / "argo-rollouts-metrics.yml").read_text())
# The rules on the service's and the controller's metrics (roles/argo_rollouts, roles/model_api).
OWN_RULES = {"platform-argo-rollouts"}
DASHBOARDS = sorted((REPO_ROOT / "roles").glob("*/files/dashboards/*.json"))  # one per role

_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
}  # fmt: skip
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_NAME = re.compile(r"(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()")
_TEMPLATE_LABEL = re.compile(r"\{\{\s*\$?(?:labels\.)?\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LABEL_REF = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")


def parse(expr: str) -> tuple[dict[str, list[tuple[str, str, str]]], set[str]]:
    """({metric: [(label, op, value)]}, grouping/matching labels) of a PromQL expression."""
    grouping: set[str] = set()
    for _kw, labels in _GROUPING.findall(expr):
        grouping |= {label.strip() for label in labels.split(",") if label.strip()}
    text = _GROUPING.sub(" ", expr)
    metrics: dict[str, list[tuple[str, str, str]]] = {}
    for name, body in _SELECTOR.findall(text):
        matchers = _MATCHER.findall(body)
        if not name:  # {__name__="..."}
            name = next((v for label, _op, v in matchers if label == "__name__"), "")
        metrics.setdefault(name, []).extend(m for m in matchers if m[0] != "__name__")
    text = _SELECTOR.sub(lambda m: " ", text)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\boffset\s+\S+", " ", text)
    for name in _NAME.findall(text):
        if name not in _KEYWORDS and not re.fullmatch(r"\d.*|[eE]", name):
            metrics.setdefault(name, [])
    return metrics, grouping


@pytest.fixture(scope="module")
def service_labels(canary_stack) -> dict[str, set[str]]:
    """Label names of every series the stack's Prometheus holds for the service (and up)."""
    query = urllib.parse.urlencode({"match[]": '{__name__=~"model_api_.*|up"}'})
    _status, body = process.http_get(f"{canary_stack.stack.prometheus_url}/api/v1/series?{query}")
    out: dict[str, set[str]] = {}
    for series in json.loads(body)["data"]:
        out.setdefault(series.pop("__name__"), set()).update(series)
    assert "model_api_requests_total" in out, sorted(out)
    return out


@pytest.fixture(scope="module")
def exported(service_labels) -> dict[str, set[str]]:
    out = {name: set(labels) for name, labels in service_labels.items()}
    target = set(CONTROLLER["target_labels"])
    for name, labels in CONTROLLER["metrics"].items():
        out[name] = set(labels) | target
    out["up"] = out.get("up", set()) | target
    return out


def expressions(platform_render) -> list[tuple[str, str, list[str]]]:
    """(where, expr, labels used in legends/annotations) of every rule, dashboard target and
    Prometheus analysis query (args substituted as the Rollout passes them)."""
    found = []
    for rule_name, groups in platform_render.shipped.groups.items():
        if rule_name not in OWN_RULES and not rule_name.startswith("model-api"):
            continue  # other exporters' rules (cert-manager, ...) are checked by their owners
        for group in groups:
            for rule in group["rules"]:
                texts = " ".join(str(v) for v in (rule.get("annotations") or {}).values())
                used = _LABEL_REF.findall(texts)
                extra = list(rule.get("labels") or {})
                where = f"rule {rule_name}/{rule.get('alert') or rule.get('record')}"
                found.append((where, str(rule["expr"]), [u for u in used if u not in extra]))
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for variable in (dashboard.get("templating") or {}).get("list", []):
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", str(query or ""))
            if match:
                found.append((f"{path.name} ${variable['name']}", match[1], [match[2]]))

        def panels(items):
            for panel in items:
                yield panel
                yield from panels(panel.get("panels") or [])

        for panel in panels(dashboard.get("panels") or []):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    expr = target["expr"].replace("$namespace", "model-api")
                    legend = _TEMPLATE_LABEL.findall(target.get("legendFormat") or "")
                    found.append((f"{path.name} '{panel.get('title')}'", expr, legend))
    version = service.ServiceVersion("canary", "model-api", "5b8f6d7c9a", 0, "", Path(), Path())
    for name, template in platform_render.shipped.analysis_templates.items():
        for metric in analysis.prometheus_metrics(template):
            values = analysis.template_args(template, analysis.analysis_args(version))
            query = analysis.substitute_args(metric["provider"]["prometheus"]["query"], values)
            found.append((f"AnalysisTemplate {name}/{metric['name']}", query, []))
    return found


def test_the_parser_finds_metrics_matchers_and_grouping():
    metrics, grouping = parse(
        'sum by (namespace, name) (increase(rollout_events_total{reason="RolloutAborted"}[10m])) '
        '> 0 or count by (namespace) (up{job=~"a|b"} unless up offset 10m) / ignoring(pod) '
        "group_left histogram_quantile(0.95, rate(x_bucket[5m]))"
    )
    assert metrics == {
        "rollout_events_total": [("reason", "=", "RolloutAborted")],
        "up": [("job", "=~", "a|b")],
        "x_bucket": [],
    }
    assert grouping == {"namespace", "name", "pod"}


def test_every_label_used_is_exported(platform_render, exported):
    problems = []
    checked = 0
    for where, expr, used in expressions(platform_render):
        metrics, grouping = parse(expr)
        unknown = sorted(m for m in metrics if m not in exported)
        if unknown:
            problems.append(f"{where}: metric(s) {unknown} not exported; expr: {expr}")
            continue
        union = set().union(*(exported[m] for m in metrics)) if metrics else set()
        union |= {"le"} if any(m.endswith("_bucket") for m in metrics) else set()
        for metric, matchers in metrics.items():
            for label, op, value in matchers:
                checked += 1
                if label not in exported[metric]:
                    problems.append(f"{where}: {metric} has no label {label!r}")
                allowed = (CONTROLLER["label_values"].get(metric) or {}).get(label)
                if allowed and op in ("=", "=~"):
                    values = value.split("|") if op == "=~" else [value]
                    bad = [v for v in values if v not in allowed]
                    if bad:
                        problems.append(
                            f"{where}: {metric}{{{label}}} never takes {bad}; the controller "
                            f"emits {allowed}"
                        )
        for label in sorted(grouping | set(used)):
            checked += 1
            if label not in union:
                problems.append(f"{where}: no metric of the expression has label {label!r}")
    assert checked > 40
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_label_nothing_exports(exported):
    """The old canary-versus-stable panels grouped by `role`; the old alert matched
    phase="Degraded": both must be reported."""
    metrics, grouping = parse(
        'sum by (role) (rate(model_api_requests_total{role=~"canary|stable"}[5m]))'
    )
    assert metrics["model_api_requests_total"][0][0] == "role"
    assert "role" in grouping and "role" not in exported["model_api_requests_total"]
    allowed = CONTROLLER["label_values"]["rollout_info"]["phase"]
    assert "Degraded" not in allowed
