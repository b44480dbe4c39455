"""Argo Rollouts' Slack notifications: one message per event, and an Inconclusive pause notifies.

The controller's notification path is replayed on the rendered configuration (no cluster here):
each event the controller records goes through utils/record/record.go sendNotifications
(argoproj/argo-rollouts tag v1.9.0): the trigger is translateReasonToTrigger(reason), the
destinations are GetGlobalDestinations(the event object's labels) of the notifications ConfigMap
(argoproj/notifications-engine v0.5.0 pkg/api/config.go and pkg/subscriptions/global.go: a
subscription matches when it lists the trigger and its `selector`, a Kubernetes label selector,
matches the labels), and a trigger without `when` sends each of its templates once.

For an analysis result the controller records AnalysisRun<Phase> twice: on the AnalysisRun
(analysis/analysis.go, recordAnalysisRunCompletionEvent) and on its Rollout (rollout/analysis.go,
emitAnalysisRunStatusChanges). The AnalysisRun carries the labels of utils/analysis/factory.go
BackgroundLabels (rollouts-pod-template-hash, rollout-type) plus the Rollout's
spec.selector.matchLabels (rollout/analysis.go newAnalysisRunFromRollout); the Rollout its own.

What the emulation leaves out, and a cluster would add: the label selector grammar is the subset
the platform uses (key, !key, key=value, key!=value, comma = and), checked below against
k8s.io/apimachinery's documented forms.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import render

pytestmark = pytest.mark.slow


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """k8s.io/apimachinery labels.Parse(selector).Matches(labels) for key, !key, key=value,
    key==value and key!=value requirements joined by commas (the empty selector matches all)."""
    for requirement in filter(None, (r.strip() for r in selector.split(","))):
        if requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
            continue
        match = re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", requirement)
        if match:
            key, op, value = match.groups()
            if (labels.get(key) == value) != (op != "!="):
                return False
            continue
        if not re.fullmatch(r"[\w./-]+", requirement):
            raise ValueError(f"selector form not emulated: {requirement!r}")
        if requirement not in labels:
            return False
    return True


def trigger_of(reason: str) -> str:
    """utils/record/record.go translateReasonToTrigger."""
    trigger = re.sub(r"(.)([A-Z][a-z]+)", r"\1-\2", reason)
    trigger = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", trigger)
    return "on-" + trigger.lower()


def messages(config: dict, reason: str, labels: dict[str, str]) -> int:
    """Slack messages sendNotifications posts for one event on an object with these labels."""
    trigger = trigger_of(reason)
    subscriptions = yaml.safe_load(config.get("subscriptions") or "[]")
    sent = 0
    for subscription in subscriptions:
        triggers = subscription.get("triggers") or []
        if triggers and trigger not in triggers:
            continue
        if not selector_matches(subscription.get("selector") or "", labels):
            continue
        conditions = yaml.safe_load(config.get(f"trigger.{trigger}") or "[]")
        for condition in conditions:
            assert not condition.get("when"), "the platform's triggers have no when"
            sent += len(subscription.get("recipients") or []) * len(condition.get("send") or [])
    return sent


@pytest.fixture(scope="module")
def notifications(tmp_path_factory, tool_env) -> dict:
    """The data of argo-rollouts-notification-configmap as the chart writes it from the rendered
    values (argo-helm argo-rollouts-2.41.0 notifications-configmap.yaml: notifiers, templates and
    triggers as keys, subscriptions as a YAML string)."""
    base = tmp_path_factory.mktemp("argo-rollouts")
    render.render_roles(
        ["argo_rollouts"], base / "shipped", base / "stack", base / "secrets", tool_env
    )
    values = yaml.safe_load(
        (base / "shipped/argo-rollouts/helm/argo-rollouts.values.yaml").read_text()
    )
    section = values["notifications"]
    data = {**section["notifiers"], **section["templates"], **section["triggers"]}
    data["subscriptions"] = yaml.safe_dump(section["subscriptions"])
    return data


@pytest.fixture(scope="module")
def objects(platform_render) -> tuple[dict[str, str], dict[str, str]]:
    """(Rollout labels, labels of the background AnalysisRun the controller creates for it)."""
    rollout = next(
        obj
        for _path, obj in render.rendered_objects(platform_render.shipped_dir)
        if obj.get("kind") == "Rollout"
    )
    run_labels = {"rollouts-pod-template-hash": "5b8f6d7c9a", "rollout-type": "Background"}
    run_labels.update(rollout["spec"]["selector"]["matchLabels"])
    return rollout["metadata"]["labels"], run_labels


def test_the_selector_emulation_follows_the_apimachinery_forms():
    labels = {"app": "x", "rollout-type": "Background"}
    assert selector_matches("", labels)
    assert not selector_matches("!rollout-type", labels)
    assert selector_matches("!rollout-type", {"app": "x"})
    assert selector_matches("app=x,rollout-type", labels)
    assert not selector_matches("app!=x", labels)
    assert trigger_of("AnalysisRunFailed") == "on-analysis-run-failed"
    assert trigger_of("RolloutAborted") == "on-rollout-aborted"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        # the old configuration posted 2 (the AnalysisRun's event matched the subscription too)
        ("AnalysisRunFailed", 1),
        ("AnalysisRunError", 0),  # not subscribed: the RolloutAborted that follows is
        # the old configuration posted 0: nothing told Slack the rollout paused for a human
        ("AnalysisRunInconclusive", 1),
    ],
)
def test_one_slack_message_per_analysis_event(notifications, objects, reason, expected):
    rollout_labels, run_labels = objects
    assert "rollout-type" not in rollout_labels
    on_rollout = messages(notifications, reason, rollout_labels)
    on_run = messages(notifications, reason, run_labels)
    assert on_rollout + on_run == expected, (on_rollout, on_run)
    assert on_run == 0


@pytest.mark.parametrize("reason", ["RolloutAborted", "RolloutCompleted"])
def test_rollout_events_post_once(notifications, objects, reason):
    rollout_labels, _run_labels = objects
    assert messages(notifications, reason, rollout_labels) == 1


def test_every_trigger_posts_a_template_that_exists(notifications):
    for key, value in notifications.items():
        if key.startswith("trigger."):
            for condition in yaml.safe_load(value):
                for template in condition["send"]:
                    assert f"template.{template}" in notifications, (key, template)
