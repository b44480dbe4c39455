"""argo_rollout: the plugin's verbs, driven through main() against recorded objects.

A fake K8sClient serves the fixture Rollout and AnalysisRuns, records every patch and applies it
(merge patch), so a test sees what a verb sends and what the next read returns.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import argo_rollout
import pytest
import yaml
from ansible.module_utils import argo_rollouts as ar
from ansible.module_utils.platform_k8s import NotFoundError, PlatformModuleError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = os.environ.get("PLATFORM_CRD_SCHEMA_LOCATION") or str(
    Path(__file__).resolve().parents[3] / "shared" / "crd-schemas"
)
NEW_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-platform/model-api:1.5.0"
BASE = {"name": "model-api", "namespace": "model-api"}


def load(name):
    docs = list(yaml.safe_load_all((FIXTURES / f"rollout-{name}.yaml").read_text()))
    return docs[0], docs[1:]


class FakeClient:
    """Stands in for platform_k8s.K8sClient: one rollout, its analysis runs, recorded patches."""

    def __init__(self, rollout, runs=(), sequence=None, status_subresource=True):
        self.rollout = copy.deepcopy(rollout)
        self.runs = [copy.deepcopy(r) for r in runs]
        self.sequence = list(sequence or [])  # rollouts returned by successive reads (wait)
        self.status_subresource = status_subresource
        self.patches = []
        self.reads = 0

    def get_custom(self, group, version, plural, namespace, name):
        assert (group, version, plural) == ("argoproj.io", "v1alpha1", "rollouts")
        if name != self.rollout["metadata"]["name"]:
            raise NotFoundError(f"rollouts.argoproj.io {namespace}/{name} not found")
        self.reads += 1
        if self.sequence:
            self.rollout = self.sequence.pop(0)
        return copy.deepcopy(self.rollout)

    def list_custom(self, group, version, plural, namespace, label_selector=None):
        assert plural == "analysisruns"
        return copy.deepcopy(self.runs)

    def patch_custom(self, group, version, plural, namespace, name, body, subresource=None):
        if subresource == "status" and not self.status_subresource:
            raise NotFoundError("status subresource not found")
        self.patches.append((subresource, body))
        self.rollout = ar.apply_merge_patch(self.rollout, body)
        return copy.deepcopy(self.rollout)


@pytest.fixture
def fake(monkeypatch):
    """fake(rollout, runs, ...) installs a FakeClient as argo_rollout.K8sClient."""

    def install(rollout, runs=(), **kwargs):
        client = FakeClient(rollout, runs, **kwargs)
        monkeypatch.setattr(argo_rollout, "K8sClient", lambda params: client)
        return client

    return install


# --------------------------------------------------------------------------------- fixtures
def test_fixtures_match_the_crd_schemas():
    from manifest_validation import ManifestValidator

    validator = ManifestValidator("1.33", SCHEMAS)
    count, problems = validator.validate_paths([str(FIXTURES)])
    assert not problems, "\n".join(str(p) for p in problems)
    assert count >= 8


# ------------------------------------------------------------------------------- status verb
@pytest.mark.parametrize(
    ("fixture", "phase", "step", "weights", "aborted"),
    [
        ("progressing", "Progressing", 0, (0, 100), False),
        ("paused", "Paused", 1, (10, 90), False),
        ("healthy", "Healthy", 6, (0, 100), False),
        ("degraded", "Degraded", 0, (0, 100), True),
    ],
)
def test_status_reports_phase_step_and_weights(
    run_module, fake, fixture, phase, step, weights, aborted
):
    rollout, runs = load(fixture)
    client = fake(rollout, runs)
    failed, result = run_module(argo_rollout.main, BASE)
    assert not failed, result
    assert result["changed"] is False
    status = result["rollout"]
    assert status["phase"] == phase
    assert (status["step_index"], status["step_total"]) == (step, 6)
    assert (status["weights"]["canary"], status["weights"]["stable"]) == weights
    assert status["weights"]["source"] == "status"
    assert status["aborted"] is aborted
    assert client.patches == []


def test_status_lists_only_the_current_revisions_analysis_with_metric_results(run_module, fake):
    rollout, runs = load("paused")
    fake(rollout, runs)
    _, result = run_module(argo_rollout.main, BASE)
    status = result["rollout"]
    assert [r["name"] for r in status["analysis_runs"]] == ["model-api-7f9c6b5d4c-5"]
    metrics = {m["name"]: m for m in status["analysis_runs"][0]["metrics"]}
    assert metrics["success-rate"]["last_value"] == "[0.9987]"
    assert metrics["success-rate"]["last_phase"] == "Successful"
    assert metrics["latency-p95"]["successful"] == 1
    assert status["failing_metric"] is None
    assert status["pause_reasons"] == ["CanaryPauseStep"]
    assert (status["stable_hash"], status["canary_hash"]) == ("6d5f7c9b8d", "7f9c6b5d4c")


def test_status_of_an_aborted_rollout_names_the_failing_metric_and_value(run_module, fake):
    rollout, runs = load("degraded")
    fake(rollout, runs)
    _, result = run_module(argo_rollout.main, BASE)
    failing = result["rollout"]["failing_metric"]
    assert failing["metric"] == "success-rate"
    assert failing["phase"] == "Failed"
    assert failing["value"] == "[0.8534]"
    assert "failureLimit" in failing["message"]
    assert result["rollout"]["message"].startswith("RolloutAborted:")


def test_status_of_a_missing_rollout_fails_with_a_clear_message(run_module, fake):
    rollout, _ = load("healthy")
    fake(rollout)
    failed, result = run_module(argo_rollout.main, dict(BASE, name="nope"))
    assert failed
    assert result["msg"] == (
        "Failed to read Rollout model-api/nope: rollouts.argoproj.io model-api/nope not found"
    )


# ----------------------------------------------------------------------------- set_image verb
def test_set_image_patches_the_template_and_a_repeat_changes_nothing(run_module, fake):
    rollout, runs = load("healthy")
    client = fake(rollout, runs)
    args = dict(BASE, state="set_image", container="model-api", image=NEW_IMAGE)
    failed, result = run_module(argo_rollout.main, args)
    assert not failed, result
    assert result["changed"] is True
    assert len(client.patches) == 1
    subresource, body = client.patches[0]
    assert subresource is None
    assert body["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE
    assert result["rollout"]["images"] == [{"name": "model-api", "image": NEW_IMAGE}]

    _, again = run_module(argo_rollout.main, args)
    assert again["changed"] is False
    assert len(client.patches) == 1


def test_set_image_in_check_mode_reports_the_change_and_writes_nothing(run_module, fake):
    rollout, runs = load("healthy")
    client = fake(rollout, runs)
    args = dict(BASE, state="set_image", container="model-api", image=NEW_IMAGE)
    failed, result = run_module(argo_rollout.main, args, check_mode=True)
    assert not failed
    assert result["changed"] is True
    assert client.patches == []
    assert result["patches"][0]["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE


def test_set_image_of_an_unknown_container_fails_naming_the_containers(run_module, fake):
    rollout, _ = load("healthy")
    fake(rollout)
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="set_image", container="sidecar", image=NEW_IMAGE)
    )
    assert failed
    assert result["msg"] == (
        "Failed to set the image of Rollout model-api/model-api: container 'sidecar' not found "
        "(containers: ['model-api'])"
    )


# ------------------------------------------------------------------------------- promote verb
def test_promote_clears_pause_conditions_through_the_status_subresource(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs)
    failed, result = run_module(argo_rollout.main, dict(BASE, state="promote"))
    assert not failed, result
    assert client.patches == [("status", {"status": {"pauseConditions": None}})]
    assert result["changed"] is True
    # controllerPause is still set and the conditions are gone: the plugin calls that unpausing
    assert result["rollout"]["phase"] == "Progressing"
    assert result["rollout"]["message"] == "waiting for rollout to unpause"


def test_promote_falls_back_to_the_main_resource_without_a_status_subresource(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs, status_subresource=False)
    run_module(argo_rollout.main, dict(BASE, state="promote"))
    assert client.patches == [(None, {"status": {"pauseConditions": None}})]


def test_promote_full_sets_promote_full(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs)
    run_module(argo_rollout.main, dict(BASE, state="promote", full=True))
    assert client.patches == [("status", {"status": {"promoteFull": True}})]


def test_promote_of_a_healthy_rollout_changes_nothing(run_module, fake):
    rollout, runs = load("healthy")
    client = fake(rollout, runs)
    _, result = run_module(argo_rollout.main, dict(BASE, state="promote", full=True))
    assert result["changed"] is False
    assert client.patches == []


def test_promote_in_check_mode_writes_nothing(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs)
    _, result = run_module(argo_rollout.main, dict(BASE, state="promote"), check_mode=True)
    assert result["changed"] is True
    assert client.patches == []


# ------------------------------------------------------------------------ abort / retry verbs
def test_abort_then_retry(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs)
    _, result = run_module(argo_rollout.main, dict(BASE, state="abort"))
    assert client.patches == [("status", {"status": {"abort": True}})]
    assert result["rollout"]["aborted"] is True
    assert result["rollout"]["weights"]["canary"] == 10  # status weights until the controller acts

    _, again = run_module(argo_rollout.main, dict(BASE, state="abort"))
    assert again["changed"] is False

    _, retried = run_module(argo_rollout.main, dict(BASE, state="retry"))
    assert retried["changed"] is True
    assert client.patches[-1] == ("status", {"status": {"abort": False}})
    assert retried["rollout"]["aborted"] is False


def test_retry_of_a_rollout_that_is_not_aborted_changes_nothing(run_module, fake):
    rollout, runs = load("healthy")
    client = fake(rollout, runs)
    _, result = run_module(argo_rollout.main, dict(BASE, state="retry"))
    assert result["changed"] is False
    assert client.patches == []


def test_abort_in_check_mode_predicts_and_writes_nothing(run_module, fake):
    rollout, runs = load("paused")
    client = fake(rollout, runs)
    _, result = run_module(argo_rollout.main, dict(BASE, state="abort"), check_mode=True)
    assert result["changed"] is True
    assert result["rollout"]["aborted"] is True
    assert client.patches == []


# ---------------------------------------------------------------------------------- wait verb
@pytest.fixture
def no_sleep(monkeypatch):
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds

    monkeypatch.setattr(argo_rollout.time, "sleep", sleep)
    monkeypatch.setattr(argo_rollout.time, "monotonic", lambda: clock["now"])
    return clock


def test_wait_polls_until_the_asked_phase(run_module, fake, no_sleep):
    progressing, _ = load("progressing")
    paused, runs = load("paused")
    healthy, _ = load("healthy")
    client = fake(progressing, runs, sequence=[progressing, paused, healthy])
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", wait_for=["Healthy"], poll_interval=5)
    )
    assert not failed, result
    assert result["rollout"]["phase"] == "Healthy"
    assert client.reads == 3
    assert result["elapsed"] == 10


def test_wait_returns_at_a_pause_when_paused_is_asked(run_module, fake, no_sleep):
    progressing, _ = load("progressing")
    paused, runs = load("paused")
    fake(progressing, runs, sequence=[progressing, paused])
    _, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", wait_for=["Healthy", "Paused"])
    )
    assert result["rollout"]["phase"] == "Paused"
    assert result["rollout"]["step_index"] == 1


def test_wait_with_progress_returns_at_the_next_step(run_module, fake, no_sleep):
    paused, runs = load("paused")
    later = copy.deepcopy(paused)
    later["status"].update(currentStepIndex=2, phase="Progressing", message="")
    later["status"]["canary"]["weights"]["canary"]["weight"] = 25
    client = fake(paused, runs, sequence=[paused, paused, later])
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", wait_for=["Healthy"], progress=True)
    )
    assert not failed, result
    assert (result["rollout"]["step_index"], result["rollout"]["weights"]["canary"]) == (2, 25)
    assert client.reads == 3


def test_wait_fails_on_degraded_with_the_phase_message_and_last_status(run_module, fake, no_sleep):
    progressing, _ = load("progressing")
    degraded, runs = load("degraded")
    fake(progressing, runs, sequence=[progressing, degraded])
    failed, result = run_module(argo_rollout.main, dict(BASE, state="wait"))
    assert failed
    assert result["msg"].startswith(
        "Failed to wait for Rollout model-api/model-api: rollout is Degraded: RolloutAborted:"
    )
    assert result["rollout"]["failing_metric"]["value"] == "[0.8534]"


def test_wait_for_degraded_succeeds_on_degraded(run_module, fake, no_sleep):
    degraded, runs = load("degraded")
    fake(degraded, runs)
    failed, result = run_module(argo_rollout.main, dict(BASE, state="wait", wait_for=["Degraded"]))
    assert not failed
    assert result["rollout"]["phase"] == "Degraded"


def test_wait_times_out_with_the_last_phase(run_module, fake, no_sleep):
    progressing, runs = load("progressing")
    fake(progressing, runs)
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", timeout=30, poll_interval=10)
    )
    assert failed
    assert result["msg"] == (
        "Failed to wait for Rollout model-api/model-api: timed out after 30s waiting for Healthy; "
        "phase is Progressing: more replicas need to be updated"
    )
    assert no_sleep["now"] == 30


def test_wait_for_rejects_an_unknown_phase(run_module, fake):
    rollout, _ = load("healthy")
    fake(rollout)
    failed, result = run_module(argo_rollout.main, dict(BASE, state="wait", wait_for=["Done"]))
    assert failed
    assert "wait_for has ['Done']" in result["msg"]


def test_a_cluster_error_becomes_a_failed_to_message(run_module, monkeypatch):
    def broken(params):
        raise PlatformModuleError("cannot load cluster credentials: no kubeconfig")

    monkeypatch.setattr(argo_rollout, "K8sClient", broken)
    failed, result = run_module(argo_rollout.main, BASE)
    assert failed
    assert result["msg"] == (
        "Failed to read Rollout model-api/model-api: cannot load cluster credentials: no kubeconfig"
    )


# ------------------------------------------------------------------------------ pure helpers
def _without_phase(rollout):
    """The same object as an older controller (no status.phase) would leave it."""
    rollout = copy.deepcopy(rollout)
    rollout["status"].pop("phase", None)
    rollout["status"].pop("message", None)
    return rollout


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("progressing", ("Progressing", "more replicas need to be updated")),
        ("paused", ("Paused", "CanaryPauseStep")),
        ("healthy", ("Healthy", "")),
        (
            "degraded",
            (
                "Degraded",
                "RolloutAborted: Rollout aborted update to revision 5: "
                'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
            ),
        ),
    ],
)
def test_calculated_phase_matches_the_controllers(fixture, expected):
    rollout, _ = load(fixture)
    assert ar.rollout_phase(rollout) == expected
    assert ar.rollout_phase(_without_phase(rollout)) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["metadata"].update(generation=6),
            ("Progressing", "waiting for rollout spec update to be observed"),
        ),
        (
            lambda r: r["status"].update(controllerPause=True, pauseConditions=None),
            ("Progressing", "waiting for rollout to unpause"),
        ),
        (lambda r: r["spec"].update(paused=True), ("Paused", "manually paused")),
        (
            lambda r: r["status"].update(
                conditions=[{"type": "InvalidSpec", "status": "True", "message": "bad"}]
            ),
            ("Degraded", "InvalidSpec: bad"),
        ),
        (
            lambda r: r["status"]["conditions"].append(
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": "too slow",
                }
            ),
            ("Degraded", "ProgressDeadlineExceeded: too slow"),
        ),
        (
            lambda r: r["status"].update(availableReplicas=3),
            ("Progressing", "updated replicas are still becoming available"),
        ),
        (
            lambda r: r["status"].update(stableRS="6d5f7c9b8d"),
            ("Progressing", "waiting for all steps to complete"),
        ),
        (
            lambda r: (
                r["spec"]["strategy"]["canary"].pop("trafficRouting"),
                r["status"].update(replicas=5),
            ),
            ("Progressing", "old replicas are pending termination"),
        ),
    ],
)
def test_calculated_phase_rules(change, expected):
    rollout, _ = load("healthy")
    rollout = _without_phase(rollout)
    change(rollout)
    assert ar.rollout_phase(rollout) == expected


@pytest.mark.parametrize(
    ("index", "abort", "weight"),
    [(0, False, 10), (1, False, 10), (2, False, 25), (5, False, 50), (6, False, 100), (3, True, 0)],
)
def test_set_weight_walks_back_to_the_last_set_weight_step(index, abort, weight):
    rollout, _ = load("paused")
    rollout["status"].update(currentStepIndex=index, abort=abort)
    assert ar.current_set_weight(rollout) == weight


def test_weights_are_computed_without_traffic_routing_status():
    rollout, _ = load("paused")
    del rollout["status"]["canary"]["weights"]
    rollout["status"]["currentStepIndex"] = 3
    assert ar.current_weights(rollout) == {"canary": 25, "stable": 75, "source": "computed"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            {"pauseConditions": [{"reason": "CanaryPauseStep"}], "currentStepIndex": 1},
            (None, {"status": {"pauseConditions": None}}),
        ),
        (
            {"currentStepIndex": 2},
            (None, {"status": {"pauseConditions": None, "currentStepIndex": 3}}),
        ),
        ({"currentStepIndex": 6, "stableRS": "a", "currentPodHash": "a"}, (None, None)),
    ],
)
def test_promote_patches_follow_the_plugin(status, expected):
    rollout, _ = load("paused")
    rollout["status"] = dict(
        status,
        stableRS=status.get("stableRS", "s"),
        currentPodHash=status.get("currentPodHash", "c"),
    )
    assert ar.promote_patches(rollout) == expected


def test_promote_unpauses_a_manually_paused_rollout():
    rollout, _ = load("paused")
    rollout["spec"]["paused"] = True
    spec_patch, status_patch = ar.promote_patches(rollout)
    assert spec_patch == {"spec": {"paused": False}}
    assert status_patch == {"status": {"pauseConditions": None}}


@pytest.mark.parametrize(
    ("value", "nan"),
    [
        ("[0.5]", False),
        ("[NaN]", True),
        ("NaN", True),
        ("[]", False),
        ("[0.1,0.2]", False),
        ("abc", False),
    ],
)
def test_measurement_values_flag_nan(value, nan):
    run = {
        "metadata": {"name": "r"},
        "status": {
            "phase": "Running",
            "metricResults": [
                {
                    "name": "m",
                    "phase": "Running",
                    "measurements": [{"phase": "Inconclusive", "value": value}],
                }
            ],
        },
    }
    metric = ar.analysis_run_summary(run)["metrics"][0]
    assert metric["last_value_is_nan"] is nan
    assert metric["last_value"] == value


def test_inconclusive_metric_is_reported_as_failing():
    runs = [
        {
            "name": "r",
            "message": "",
            "metrics": [
                {"name": "success-rate", "phase": "Inconclusive", "last_value": "[]", "message": ""}
            ],
        }
    ]
    assert ar.failing_metric(runs)["phase"] == "Inconclusive"


def test_merge_patch_removes_nulls_and_merges_maps():
    assert ar.apply_merge_patch({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": None, "e": 4}}) == {
        "a": {"c": 2, "e": 4},
        "d": 3,
    }
