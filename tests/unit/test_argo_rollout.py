"""argo_rollout: the plugin's verbs, driven through main() against recorded objects.

A fake K8sClient serves the fixture Rollout and AnalysisRuns, records every patch and applies it
(merge patch) with the API server's resourceVersion check, so a test sees what a verb sends and
what the next read returns. Cases marked "plugin:" are the Argo Rollouts kubectl plugin's own test
cases (argoproj/argo-rollouts tag v1.9.0, pkg/kubectl-argo-rollouts/cmd/*/..._test.go and
info/testdata), restated against this module.
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


def _bump(obj, body):
    """Apply a merge patch like the API server: a resourceVersion in the patch must match."""
    current = (obj.get("metadata") or {}).get("resourceVersion")
    wanted = (body.get("metadata") or {}).get("resourceVersion")
    if wanted is not None and current is not None and wanted != current:
        raise PlatformModuleError(
            "rollouts.argoproj.io model-api/model-api: API error 409: Conflict"
        )
    result = ar.apply_merge_patch(obj, body)
    if current is not None:
        result["metadata"]["resourceVersion"] = str(int(current) + 1)
    return result


class FakeClient:
    """Stands in for platform_k8s.K8sClient: one rollout, its analysis runs and ReplicaSets, a
    Deployment, recorded patches."""

    def __init__(
        self,
        rollout,
        runs=(),
        sequence=None,
        status_subresource=True,
        replica_sets=(),
        deployment=None,
        concurrent=None,
    ):
        self.rollout = copy.deepcopy(rollout)
        self.runs = [copy.deepcopy(r) for r in runs]
        # rollouts (or exceptions, raised) returned by successive reads (wait)
        self.sequence = list(sequence or [])
        self.status_subresource = status_subresource
        self.replica_sets = [copy.deepcopy(r) for r in replica_sets]
        self.deployment = copy.deepcopy(deployment)
        self.concurrent = list(concurrent or [])  # changes made by "someone else" after a read
        self.patches = []
        self.deployment_patches = []
        self.reads = 0

    def get_custom(self, group, version, plural, namespace, name):
        assert (group, version, plural) == ("argoproj.io", "v1alpha1", "rollouts")
        if name != self.rollout["metadata"]["name"]:
            raise NotFoundError(f"rollouts.argoproj.io {namespace}/{name} not found")
        self.reads += 1
        if self.sequence:
            item = self.sequence.pop(0)
            if isinstance(item, Exception):
                raise item
            self.rollout = item
        read = copy.deepcopy(self.rollout)
        if self.concurrent:
            self.rollout = _bump(self.rollout, self.concurrent.pop(0))
        return read

    def list_custom(self, group, version, plural, namespace, label_selector=None):
        assert plural == "analysisruns"
        return copy.deepcopy(self.runs)

    def patch_custom(self, group, version, plural, namespace, name, body, subresource=None):
        if subresource == "status" and not self.status_subresource:
            raise NotFoundError("status subresource not found")
        self.rollout = _bump(self.rollout, body)
        self.patches.append((subresource, body))
        return copy.deepcopy(self.rollout)

    def list_replica_sets(self, namespace, label_selector):
        key, _, value = label_selector.partition("=")
        return [
            copy.deepcopy(rs)
            for rs in self.replica_sets
            if (rs["metadata"].get("labels") or {}).get(key) == value
        ]

    def get_deployment(self, namespace, name):
        if not self.deployment or self.deployment["metadata"]["name"] != name:
            raise NotFoundError(f"deployments.apps {namespace}/{name} not found")
        return copy.deepcopy(self.deployment)

    def patch_deployment(self, namespace, name, body):
        self.deployment = _bump(self.deployment, body)
        self.deployment_patches.append(body)
        return copy.deepcopy(self.deployment)


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
        "Failed to set the image of Rollout model-api/model-api: unable to find container named "
        "'sidecar' (containers: ['model-api'])"
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


def test_weights_fall_back_to_the_set_weight_before_the_controller_reports_alb_weights():
    rollout, _ = load("paused")
    del rollout["status"]["canary"]["weights"]
    rollout["status"]["currentStepIndex"] = 3
    assert ar.current_weights(rollout) == {"canary": 25, "stable": 75, "source": "set-weight"}
    # info/rollout_info.go: with traffic routing but no status weights, ActualWeight = SetWeight
    assert ar.actual_weight(rollout) == 25


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


# --------------------------------------------------------------- plugin parity (issue 16, #7)
def load_upstream(name):
    """A trimmed copy of the plugin's info/testdata: (rollout, replica sets)."""
    docs = list(yaml.safe_load_all((FIXTURES / "upstream" / f"plugin-{name}.yaml").read_text()))
    return docs[0], [d for d in docs[1:] if d["kind"] == "ReplicaSet"]


def _plugin_rollout(steps=(), status=None, paused=False):
    """The Rollout shape of the plugin's promote tests (guestbook)."""
    spec = {"strategy": {"canary": {"steps": list(steps)}}} if steps is not None else {}
    if paused:
        spec["paused"] = True
    return {
        "metadata": {"name": "guestbook", "namespace": "default"},
        "spec": spec,
        "status": dict(status or {}),
    }


@pytest.mark.parametrize(
    ("case", "rollout", "full", "expected"),
    [
        # plugin: TestPromoteCmdSuccesFirstStep -- index 0 of 2 steps -> 1
        (
            "first step",
            _plugin_rollout([{"setWeight": 1}, {"setWeight": 2}]),
            False,
            (None, {"status": {"pauseConditions": None, "currentStepIndex": 1}}),
        ),
        # plugin: TestPromoteCmdSuccessDoNotGoPastLastStep -- index 2 of 2 stays 2
        (
            "last step",
            _plugin_rollout([{"setWeight": 1}, {"setWeight": 2}], {"currentStepIndex": 2}),
            False,
            (None, {"status": {"pauseConditions": None, "currentStepIndex": 2}}),
        ),
        # plugin: TestPromoteCmdSuccessUnpause -- spec.paused and a pause condition
        (
            "unpause",
            _plugin_rollout(
                None,
                {"pauseConditions": [{"reason": "CanaryPauseStep"}], "controllerPause": True},
                paused=True,
            ),
            False,
            ({"spec": {"paused": False}}, {"status": {"pauseConditions": None}}),
        ),
        # plugin: TestPromoteCmdFull
        (
            "full",
            _plugin_rollout(None, {"stableRS": "abc123", "currentPodHash": "def456"}),
            True,
            (None, {"status": {"promoteFull": True}}),
        ),
        # plugin: TestPromoteCmdAlreadyFullyPromoted -- no patch at all
        (
            "already full",
            _plugin_rollout(None, {"stableRS": "abc123", "currentPodHash": "abc123"}),
            True,
            (None, None),
        ),
        # plugin: TestPromoteCmdFullWithSpecPaused -- full promotion also unpauses spec.paused
        (
            "full and spec.paused",
            _plugin_rollout(
                [{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}],
                {"currentStepIndex": 1, "stableRS": "abc123", "currentPodHash": "def456"},
                paused=True,
            ),
            True,
            ({"spec": {"paused": False}}, {"status": {"promoteFull": True}}),
        ),
        # plugin: TestPromoteInconclusiveStep -- an Inconclusive step analysis: clear the
        # controller pause too and go to the next step
        (
            "inconclusive step",
            _plugin_rollout(
                [{"setWeight": 1}, {"setWeight": 2}],
                {
                    "pauseConditions": [{"reason": "CanaryPauseStep"}],
                    "controllerPause": True,
                    "canary": {"currentStepAnalysisRunStatus": {"status": "Inconclusive"}},
                },
                paused=True,
            ),
            False,
            (
                {"spec": {"paused": False}},
                {
                    "status": {
                        "pauseConditions": None,
                        "controllerPause": False,
                        "currentStepIndex": 1,
                    }
                },
            ),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_promote_sends_the_plugins_patches(case, rollout, full, expected):
    assert ar.promote_patches(rollout, full) == expected, case


def _guestbook_template(container_lists):
    """plugin: TestSetImageCmd's pod spec -- guestbook in every container list."""
    return {
        "initContainers": [{"name": "guestbook", "image": "argoproj/rollouts-demo:blue"}],
        "containers": [
            {"name": "foo", "image": "alpine:3.8"},
            {"name": "guestbook", "image": "argoproj/rollouts-demo:blue"},
            {"name": "bar", "image": "alpine:3.8"},
        ],
        "ephemeralContainers": [{"name": "guestbook", "image": "argoproj/rollouts-demo:blue"}],
    }


def _images(pod_spec):
    return {f: [c["image"] for c in pod_spec.get(f) or []] for f in ar.CONTAINER_FIELDS}


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        # plugin: TestSetImageCmd -- every list, only the named container
        (
            "guestbook",
            {
                "initContainers": ["argoproj/rollouts-demo:NEWIMAGE"],
                "containers": ["alpine:3.8", "argoproj/rollouts-demo:NEWIMAGE", "alpine:3.8"],
                "ephemeralContainers": ["argoproj/rollouts-demo:NEWIMAGE"],
            },
        ),
        # plugin: TestSetImageCmdStar -- every container of every list
        (
            "*",
            {
                "initContainers": ["argoproj/rollouts-demo:NEWIMAGE"],
                "containers": ["argoproj/rollouts-demo:NEWIMAGE"] * 3,
                "ephemeralContainers": ["argoproj/rollouts-demo:NEWIMAGE"],
            },
        ),
    ],
)
def test_set_image_updates_every_container_list_like_the_plugin(
    run_module, fake, container, expected
):
    rollout, runs = load("healthy")
    rollout["spec"]["template"]["spec"] = _guestbook_template(None)
    client = fake(rollout, runs)
    failed, result = run_module(
        argo_rollout.main,
        dict(BASE, state="set_image", container=container, image="argoproj/rollouts-demo:NEWIMAGE"),
    )
    assert not failed, result
    assert _images(client.rollout["spec"]["template"]["spec"]) == expected


def test_set_image_of_a_workload_ref_updates_the_deployment(run_module, fake):
    """plugin: TestSetImageWorkloadRef -- the Deployment the Rollout references changes, the
    Rollout does not."""
    rollout, runs = load("healthy")
    rollout["spec"].pop("template")
    rollout["spec"]["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gb"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gb", "namespace": "model-api", "resourceVersion": "7"},
        "spec": {"template": {"spec": _guestbook_template(None)}},
    }
    client = fake(rollout, runs, deployment=deployment)
    args = dict(
        BASE, state="set_image", container="guestbook", image="argoproj/rollouts-demo:NEWIMAGE"
    )
    failed, result = run_module(argo_rollout.main, args)
    assert not failed, result
    assert client.patches == []
    assert client.deployment_patches[0]["metadata"] == {"resourceVersion": "7"}
    assert _images(client.deployment["spec"]["template"]["spec"])["containers"] == [
        "alpine:3.8",
        "argoproj/rollouts-demo:NEWIMAGE",
        "alpine:3.8",
    ]
    assert result["workload"] == {"kind": "Deployment", "name": "gb"}
    _, again = run_module(argo_rollout.main, args)
    assert again["changed"] is False


def test_set_image_never_overwrites_a_concurrent_change(run_module, fake):
    """plugin: TestSetImageConflict -- an update that hits a conflict is read and tried again;
    the change made in between survives (the old module merge-patched a stale list)."""
    rollout, runs = load("healthy")
    rollout["metadata"]["resourceVersion"] = "100"
    rollout["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "s:1"})
    containers = copy.deepcopy(rollout["spec"]["template"]["spec"]["containers"])
    containers[1]["image"] = "s:2"  # someone else updates the sidecar right after our read
    concurrent = [{"spec": {"template": {"spec": {"containers": containers}}}}]
    client = fake(rollout, runs, concurrent=concurrent)
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="set_image", container="model-api", image=NEW_IMAGE)
    )
    assert not failed, result
    assert [c["image"] for c in client.rollout["spec"]["template"]["spec"]["containers"]] == [
        NEW_IMAGE,
        "s:2",
    ]
    assert client.reads >= 2
    assert all(body["metadata"]["resourceVersion"] for _sub, body in client.patches)


@pytest.mark.parametrize(
    ("fixture", "set_weight", "actual", "weights"),
    [
        # plugin: cmd/get/get_test.go TestGetCanaryRollout -- SetWeight 20, ActualWeight 0
        ("canary-demo", 20, 0, {"canary": 0, "stable": 100, "source": "replicas"}),
        # plugin: cmd/get/get_test.go TestExperimentRollout -- SetWeight 25, ActualWeight 25
        ("experiment-analysis", 25, 25, {"canary": 25, "stable": 75, "source": "replicas"}),
    ],
)
def test_replica_based_weights_are_the_plugins_actual_weight(
    run_module, fake, fixture, set_weight, actual, weights
):
    rollout, replica_sets = load_upstream(fixture)
    meta = rollout["metadata"]
    fake(rollout, replica_sets=replica_sets)
    failed, result = run_module(
        argo_rollout.main, {"name": meta["name"], "namespace": meta["namespace"]}
    )
    assert not failed, result
    status = result["rollout"]
    assert (status["set_weight"], status["actual_weight"]) == (set_weight, actual)
    assert status["weights"] == weights


def test_actual_weight_is_the_max_weight_once_the_steps_are_done():
    rollout, _ = load("healthy")
    assert ar.actual_weight(rollout) == 100
    rollout["spec"]["strategy"]["canary"]["trafficRouting"]["maxTrafficWeight"] = 1000
    assert ar.actual_weight(rollout) == 1000
    assert ar.current_set_weight(rollout) == 1000


# ------------------------------------------------------------ the follow loop's needs (#3, 20.7)
def _inconclusive(paused):
    """The same rollout, paused at its step, after the background analysis went Inconclusive
    (rollout/analysis.go: AddPauseCondition(PauseReasonInconclusiveAnalysis))."""
    later = copy.deepcopy(paused)
    later["status"]["pauseConditions"].append(
        {"reason": "InconclusiveAnalysisRun", "startTime": "2026-06-01T10:04:00Z"}
    )
    return later


def test_wait_with_progress_returns_when_an_inconclusive_pause_joins_a_step_pause(
    run_module, fake, no_sleep
):
    paused, runs = load("paused")
    later = _inconclusive(paused)
    client = fake(paused, runs, sequence=[paused, paused, later])
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", wait_for=["Healthy"], progress=True)
    )
    assert not failed, result
    assert client.reads == 3
    assert "InconclusiveAnalysisRun" in result["rollout"]["pause_reasons"]
    # phase, step and weight are the same as before: the old progress key missed this change
    assert result["rollout"]["phase"] == "Paused" and result["rollout"]["step_index"] == 1


def test_wait_retries_transient_read_errors_within_its_bound(run_module, fake, no_sleep):
    progressing, _ = load("progressing")
    healthy, runs = load("healthy")
    flaky = PlatformModuleError("rollouts.argoproj.io model-api/model-api: API error 503: busy")
    client = fake(
        progressing, runs, sequence=[progressing, flaky, ConnectionError("reset"), healthy]
    )
    failed, result = run_module(
        argo_rollout.main, dict(BASE, state="wait", error_retries=2, poll_interval=5)
    )
    assert not failed, result
    assert result["rollout"]["phase"] == "Healthy"
    assert len(result["read_errors"]) == 2
    assert client.reads == 4


def test_wait_fails_after_too_many_read_errors_in_a_row(run_module, fake, no_sleep):
    progressing, runs = load("progressing")
    errors = [PlatformModuleError(f"API error 503: busy {i}") for i in range(4)]
    fake(progressing, runs, sequence=[progressing, *errors])
    failed, result = run_module(argo_rollout.main, dict(BASE, state="wait", error_retries=2))
    assert failed
    assert "3 failed reads in a row (error_retries 2)" in result["msg"]
    assert len(result["read_errors"]) == 3


def test_a_missing_rollout_is_not_retried(run_module, fake, no_sleep):
    progressing, runs = load("progressing")
    fake(progressing, runs, sequence=[NotFoundError("rollouts.argoproj.io model-api/x not found")])
    failed, result = run_module(argo_rollout.main, dict(BASE, state="wait", error_retries=5))
    assert failed
    assert "not found" in result["msg"]


def test_a_rollout_no_controller_reconciled_is_told_apart():
    rollout, _ = load("progressing")
    rollout["status"] = {}
    rollout["metadata"]["generation"] = 1
    summary = ar.rollout_summary(rollout)
    assert summary["controller_seen"] is False
    assert summary["traffic_on_stable"] is False
    # an abort request nobody acted on does not put traffic on stable either
    rollout["status"]["abort"] = True
    assert ar.rollout_summary(rollout)["traffic_on_stable"] is False


@pytest.mark.parametrize(
    ("fixture", "change", "on_stable"),
    [
        ("degraded", None, True),  # aborted, the controller reports canary weight 0
        ("healthy", None, True),  # finished: the new version is the stable one
        ("paused", None, False),  # 10 % on the canary
        ("paused", lambda r: r["status"].update(abort=True), False),  # abort asked, weight 10
        (
            "degraded",
            lambda r: r["metadata"].update(generation=9),  # not yet observed by the controller
            False,
        ),
    ],
)
def test_traffic_is_on_stable_only_when_the_rollout_says_so(fixture, change, on_stable):
    rollout, _ = load(fixture)
    if change:
        change(rollout)
    assert ar.rollout_summary(rollout)["traffic_on_stable"] is on_stable
