"""Fixtures of the integration suite: the render of the roles, and one local canary stack.

The stack (tests/support/canary.py) runs on 127.0.0.1 only: three model-api processes (a stable
healthy version, a canary that turns faulty, an idle canary without traffic), Prometheus scraping
them every second with the labels the ServiceMonitor gives pods in the cluster and loading the
platform's rules (shortened: see tests.support.prometheus.shorten_rule_groups), Alertmanager
with the platform's rendered configuration (short timers through the monitoring role's
variables) and a Slack-compatible webhook receiver. The finalizer stops every process group,
pass or fail, and then checks that none is left.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import canary as cs
from tests.support import prometheus, render, service, slack

REQUIRED_TOOLS = ("prometheus", "prometheus-alertmanager", "promtool", "amtool")


@dataclass
class RenderedPlatform:
    shipped_dir: Path
    stack_dir: Path
    secrets_dir: Path
    roles: list[str]
    shipped: render.Rendered  # rule files as shipped (promtool)
    suite: render.Rendered  # rule files shortened for the stack; alertmanager.yml for the stack


@pytest.fixture(scope="session")
def system_tools() -> dict[str, str]:
    found = {tool: shutil.which(tool) or f"/usr/bin/{tool}" for tool in REQUIRED_TOOLS}
    missing = [tool for tool, path in found.items() if not Path(path).is_file()]
    if missing:
        pytest.fail(f"missing system tools {missing}: run scripts/check-tools for how to install")
    return found


@pytest.fixture(scope="session")
def platform_render(tmp_path_factory, tool_env) -> RenderedPlatform:
    """Render every role that ships PrometheusRules or AnalysisTemplates, as shipped and for
    the stack (tests/integration/render.yml)."""
    base = tmp_path_factory.mktemp("render")
    roles = render.roles_with_kinds()
    assert roles, "no role renders a PrometheusRule or an AnalysisTemplate"
    shipped_dir, stack_dir, secrets_dir = base / "shipped", base / "stack", base / "secrets"
    render.render_roles(roles, shipped_dir, stack_dir, secrets_dir, tool_env, base / "render.log")
    return RenderedPlatform(
        shipped_dir,
        stack_dir,
        secrets_dir,
        roles,
        render.extract(shipped_dir, base / "rules-shipped"),
        render.extract(stack_dir, base / "rules-suite", prometheus.SUITE_SHORTENING),
    )


@dataclass
class Stack:
    stack: cs.CanaryStack
    receiver: slack.WebhookReceiver
    stable: service.ServiceVersion
    canary: service.ServiceVersion
    idle: service.ServiceVersion


@pytest.fixture(scope="session")
def canary_stack(
    request, tmp_path_factory, platform_render: RenderedPlatform, system_tools
) -> Stack:
    assert platform_render.suite.alertmanager_config, "monitoring rendered no alertmanager.yml"
    workdir = tmp_path_factory.mktemp("stack")
    stack = cs.CanaryStack(workdir)

    def stop_and_check() -> None:
        stack.stop()
        left = stack.leftovers()
        assert not left, f"process groups still alive after the stack stopped: {left}"

    request.addfinalizer(stop_and_check)
    receiver = stack.start_receiver()
    slack.write_slack_secrets(
        platform_render.secrets_dir,
        {"critical": receiver.url("critical"), "warning": receiver.url("warning")},
    )
    stable = stack.start_service("stable", "model-api", "7c9d5f8b46")
    canary = stack.start_service("canary", "model-api", "5b8f6d7c9a")
    idle = stack.start_service("idle", "model-api", "84f7c6d5b9")
    stack.start_alertmanager(platform_render.suite.alertmanager_config)
    stack.start_prometheus(platform_render.suite.rule_files.values())
    deadline = time.monotonic() + 20
    while stack.targets_up() < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stack.targets_up() == 3, "Prometheus does not scrape the three model-api processes"
    return Stack(stack, receiver, stable, canary, idle)


@pytest.fixture(scope="session")
def failure_timeline(canary_stack: Stack, platform_render: RenderedPlatform) -> cs.Timeline:
    """The faulty canary, once per session: fault on under load, analysis and alert observed,
    fault cleared, resolved message observed. Tests assert on what it recorded."""
    alerts = cs.error_rate_alerts(platform_render.shipped)
    assert alerts, "no shipped alert on the 5xx ratio of model_api_requests_total"
    templates = platform_render.suite.analysis_templates
    assert templates, "no AnalysisTemplate rendered (roles/model_api)"
    lines: list[str] = []
    timeline = cs.run_failure_timeline(
        canary_stack.stack,
        templates,
        canary_stack.canary,
        [canary_stack.stable],
        alerts,
        timeout=60,
        on_event=lines.append,
    )
    print("\n".join(["failing-canary timeline:", *lines]))
    return timeline
