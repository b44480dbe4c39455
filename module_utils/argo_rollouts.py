# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure logic behind the argo_rollout module: what the Argo Rollouts kubectl plugin computes.

No Ansible and no Kubernetes client here: every function takes plain dicts (Rollout and
AnalysisRun objects as the API returns them) and returns plain data or raises
``RolloutActionError``. Phase and weights follow the plugin and controller
(``utils/rollout/rolloututil.go`` GetRolloutPhase / CalculateRolloutPhase,
``utils/replicaset/canary.go`` GetCurrentSetWeight, ``cmd/promote/promote.go`` getPatches,
``cmd/set/set_image.go`` newRolloutSetImage, ``info/rollout_info.go`` ActualWeight), all read at
argoproj/argo-rollouts tag v1.9.0.
"""

from __future__ import annotations

import copy
import math

GROUP = "argoproj.io"
VERSION = "v1alpha1"
ROLLOUTS = "rollouts"
ANALYSIS_RUNS = "analysisruns"
POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"

HEALTHY = "Healthy"
PROGRESSING = "Progressing"
PAUSED = "Paused"
DEGRADED = "Degraded"
PHASES = (HEALTHY, PROGRESSING, PAUSED, DEGRADED)

# Condition reasons that make a rollout Degraded (utils/conditions/conditions.go).
ROLLOUT_ABORTED_REASON = "RolloutAborted"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
INVALID_SPEC = "InvalidSpec"

ANALYSIS_DONE = ("Successful", "Failed", "Error", "Inconclusive")


class RolloutActionError(Exception):
    """A request the helpers cannot satisfy (unknown container, bad object)."""


# ----------------------------------------------------------------------------------- basics
def _status(rollout):
    return rollout.get("status") or {}


def _canary(rollout):
    return ((rollout.get("spec") or {}).get("strategy") or {}).get("canary")


def _steps(rollout):
    canary = _canary(rollout)
    return list((canary or {}).get("steps") or [])


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def desired_replicas(rollout):
    """spec.replicas, defaulting to 1 like the controller (defaults.GetReplicasOrDefault)."""
    replicas = (rollout.get("spec") or {}).get("replicas")
    return 1 if replicas is None else _int(replicas, 1)


def is_generation_observed(rollout):
    """status.observedGeneration equals metadata.generation (numeric form only, v0.10+)."""
    observed = _status(rollout).get("observedGeneration")
    try:
        observed = int(observed)
    except (TypeError, ValueError):
        return True  # v0.9 stored a hash here: nothing to compare
    generation = _int((rollout.get("metadata") or {}).get("generation"), 0)
    return observed >= generation


def is_unpausing(rollout):
    """The user cleared the pause conditions but the controller has not reacted yet."""
    status = _status(rollout)
    return bool(status.get("controllerPause")) and not status.get("pauseConditions")


def current_step(rollout):
    """(step dict or None, index or None) like replicasetutil.GetCurrentCanaryStep."""
    steps = _steps(rollout)
    if _canary(rollout) is None or not steps:
        return None, None
    index = _int(_status(rollout).get("currentStepIndex"), 0)
    if index >= len(steps):
        return None, index
    return steps[index], index


def max_traffic_weight(rollout):
    """trafficRouting.maxTrafficWeight, else 100 (weightutil.MaxTrafficWeight)."""
    routing = (_canary(rollout) or {}).get("trafficRouting") or {}
    value = routing.get("maxTrafficWeight")
    return 100 if value is None else _int(value, 100)


def current_set_weight(rollout):
    """The desired canary weight of the current step (GetCurrentSetWeight)."""
    if _status(rollout).get("abort"):
        return 0
    step, index = current_step(rollout)
    if step is None:
        return max_traffic_weight(rollout)
    for i in range(index, -1, -1):
        weight = _steps(rollout)[i].get("setWeight")
        if weight is not None:
            return _int(weight)
    return 0


def is_fully_promoted(rollout):
    status = _status(rollout)
    stable = status.get("stableRS") or ""
    return bool(stable) and stable == status.get("currentPodHash")


# ------------------------------------------------------------------------------------ phase
def calculate_phase(rollout):
    """Client-side phase for controllers that do not write status.phase (CalculateRolloutPhase)."""
    spec = rollout.get("spec") or {}
    status = _status(rollout)
    for cond in status.get("conditions") or []:
        if cond.get("type") == INVALID_SPEC:
            return DEGRADED, f"{INVALID_SPEC}: {cond.get('message', '')}"
        if cond.get("reason") in (ROLLOUT_ABORTED_REASON, TIMED_OUT_REASON):
            return DEGRADED, f"{cond['reason']}: {cond.get('message', '')}"
    if spec.get("paused"):
        return PAUSED, "manually paused"
    for cond in status.get("pauseConditions") or []:
        return PAUSED, str(cond.get("reason", ""))
    restart_at = spec.get("restartAt")
    if restart_at and restart_at != status.get("restartedAt"):
        return PROGRESSING, "rollout is restarting"
    if _int(status.get("updatedReplicas")) < desired_replicas(rollout):
        return PROGRESSING, "more replicas need to be updated"
    if _int(status.get("availableReplicas")) < _int(status.get("updatedReplicas")):
        return PROGRESSING, "updated replicas are still becoming available"
    canary = _canary(rollout)
    if canary is not None:
        if not canary.get("trafficRouting") and _int(status.get("replicas")) > _int(
            status.get("updatedReplicas")
        ):
            return PROGRESSING, "old replicas are pending termination"
        if not is_fully_promoted(rollout):
            return PROGRESSING, "waiting for all steps to complete"
    return HEALTHY, ""


def rollout_phase(rollout):
    """(phase, message) exactly as `kubectl argo rollouts status` reports it (GetRolloutPhase)."""
    if not is_generation_observed(rollout):
        return PROGRESSING, "waiting for rollout spec update to be observed"
    if is_unpausing(rollout):
        return PROGRESSING, "waiting for rollout to unpause"
    status = _status(rollout)
    if status.get("phase"):
        return status["phase"], status.get("message", "")
    return calculate_phase(rollout)


# ---------------------------------------------------------------------------------- weights
def pod_template_hash(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)


def canary_replica_set(rollout, replica_sets):
    """The rollout's ReplicaSet whose pod template hash is status.currentPodHash and is not the
    stable one (replicaset_info.go: rsInfo.Canary), or None."""
    status = _status(rollout)
    current, stable = status.get("currentPodHash"), status.get("stableRS")
    for rs in replica_sets or ():
        if not owned_by(rs, rollout):
            continue
        rs_hash = pod_template_hash(rs)
        if rs_hash and rs_hash != stable and rs_hash == current:
            return rs
    return None


def actual_weight(rollout, replica_sets=()):
    """The plugin's ActualWeight (info/rollout_info.go NewRolloutInfo): the max weight once the
    steps are done; with traffic routing status.canary.weights.canary (else the set weight);
    without it, the canary ReplicaSet's available replicas * max weight / the rollout's
    available replicas (integer division); 0 while nothing is available."""
    if _canary(rollout) is None:
        return None
    step, _index = current_step(rollout)
    if step is None:
        return max_traffic_weight(rollout)
    status = _status(rollout)
    available = _int(status.get("availableReplicas"))
    if available <= 0:
        return 0
    if not _canary(rollout).get("trafficRouting"):
        rs = canary_replica_set(rollout, replica_sets)
        if rs is None:
            return 0
        rs_available = _int((rs.get("status") or {}).get("availableReplicas"))
        return rs_available * max_traffic_weight(rollout) // available
    weights = (status.get("canary") or {}).get("weights")
    if weights and "canary" in weights:
        return _int((weights.get("canary") or {}).get("weight"))
    return current_set_weight(rollout)


def current_weights(rollout, replica_sets=()):
    """{'canary': int, 'stable': int, 'source': ...}: traffic (ALB) weights from
    status.canary.weights when the controller reports them; without traffic routing the share of
    available pods, computed like the plugin's ActualWeight (source 'replicas'); with routing but
    no status yet, the desired set weight (source 'set-weight'). Once the steps are done and the
    new version is stable, everything is stable: canary 0, stable 100."""
    weights = (_status(rollout).get("canary") or {}).get("weights")
    if weights and "canary" in weights and "stable" in weights:
        return {
            "canary": _int(weights["canary"].get("weight")),
            "stable": _int(weights["stable"].get("weight")),
            "source": "status",
        }
    if _canary(rollout) is None:
        return {"canary": 0, "stable": 100, "source": "computed"}
    maximum = max_traffic_weight(rollout)
    if is_fully_promoted(rollout) and current_step(rollout)[0] is None:
        return {"canary": 0, "stable": maximum, "source": "computed"}
    if not _canary(rollout).get("trafficRouting"):
        canary = actual_weight(rollout, replica_sets)
        return {"canary": canary, "stable": maximum - canary, "source": "replicas"}
    canary = current_set_weight(rollout)
    return {"canary": canary, "stable": maximum - canary, "source": "set-weight"}


# ----------------------------------------------------------------------------- analysis runs
def _number(value):
    """A measurement value as a float when it is a number or a one-element list of numbers."""
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        inner = [p for p in text[1:-1].split(",") if p.strip()]
        if len(inner) != 1:
            return None
        text = inner[0].strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return number


def analysis_run_summary(run):
    """Name, phase, message and per-metric results of one AnalysisRun."""
    metadata = run.get("metadata") or {}
    status = run.get("status") or {}
    metrics = []
    for result in status.get("metricResults") or []:
        measurements = result.get("measurements") or []
        last = measurements[-1] if measurements else {}
        value = last.get("value")
        number = _number(value) if value is not None else None
        metrics.append(
            {
                "name": result.get("name"),
                "phase": result.get("phase"),
                "message": result.get("message") or last.get("message") or "",
                "count": _int(result.get("count")),
                "successful": _int(result.get("successful")),
                "failed": _int(result.get("failed")),
                "inconclusive": _int(result.get("inconclusive")),
                "error": _int(result.get("error")),
                "consecutive_error": _int(result.get("consecutiveError")),
                "last_value": value,
                "last_value_is_nan": number is not None and math.isnan(number),
                "last_phase": last.get("phase"),
            }
        )
    return {
        "name": metadata.get("name"),
        "phase": status.get("phase") or "Pending",
        "message": status.get("message") or "",
        "pod_template_hash": (metadata.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL),
        "created": metadata.get("creationTimestamp"),
        "metrics": metrics,
    }


def owned_by(obj, rollout):
    """True when obj has an ownerReference to this rollout (by uid, else by kind and name)."""
    meta = rollout.get("metadata") or {}
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if meta.get("uid") and ref.get("uid") == meta["uid"]:
            return True
        if ref.get("kind") == "Rollout" and ref.get("name") == meta.get("name"):
            return True
    return False


def rollout_analysis_runs(rollout, runs):
    """The AnalysisRuns of the rollout's current revision, oldest first."""
    current_hash = _status(rollout).get("currentPodHash")
    canary_status = _status(rollout).get("canary") or {}
    named = {
        (canary_status.get(key) or {}).get("name")
        for key in ("currentBackgroundAnalysisRunStatus", "currentStepAnalysisRunStatus")
    } - {None}
    mine = []
    for run in runs:
        if not owned_by(run, rollout):
            continue
        labels = (run.get("metadata") or {}).get("labels") or {}
        name = (run.get("metadata") or {}).get("name")
        if name in named or not current_hash or labels.get(POD_TEMPLATE_HASH_LABEL) == current_hash:
            mine.append(run)
    mine.sort(key=lambda r: ((r.get("metadata") or {}).get("creationTimestamp") or "", str(r)))
    return [analysis_run_summary(run) for run in mine]


def failing_metric(analysis):
    """(run name, metric name, last value, message) of the first failed/errored/inconclusive
    metric in analysis summaries, newest run first; None when nothing is failing."""
    for run in reversed(analysis):
        for metric in run["metrics"]:
            if metric["phase"] in ("Failed", "Error", "Inconclusive"):
                return {
                    "analysis_run": run["name"],
                    "metric": metric["name"],
                    "phase": metric["phase"],
                    "value": metric["last_value"],
                    "message": metric["message"] or run["message"],
                }
    return None


# ----------------------------------------------------------------------------------- status
def traffic_on_stable(rollout, weights):
    """True only when the Rollout itself says all traffic is on the stable version: the
    controller has observed the current spec and either the release is finished (stable is the
    desired version) or it aborted and its weights show no canary traffic (status.canary.weights
    with traffic routing, the canary ReplicaSet's available pods without)."""
    status = _status(rollout)
    if "observedGeneration" not in status or not is_generation_observed(rollout):
        return False
    if is_fully_promoted(rollout) and current_step(rollout)[0] is None:
        return True
    reported = weights["source"] in ("status", "replicas")
    return bool(status.get("abort")) and weights["canary"] == 0 and reported


def rollout_summary(rollout, runs=(), replica_sets=()):
    """Everything `kubectl argo rollouts get rollout` shows that a playbook needs to decide."""
    metadata = rollout.get("metadata") or {}
    status = _status(rollout)
    phase, message = rollout_phase(rollout)
    step, index = current_step(rollout)
    steps = _steps(rollout)
    weights = current_weights(rollout, replica_sets)
    analysis = rollout_analysis_runs(rollout, runs)
    canary_status = status.get("canary") or {}
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "phase": phase,
        "message": message,
        "aborted": bool(status.get("abort")),
        "paused": phase == PAUSED,
        "pause_reasons": [c.get("reason") for c in status.get("pauseConditions") or []],
        "strategy": "Canary" if _canary(rollout) is not None else "BlueGreen",
        "step_index": index,
        "step_total": len(steps),
        "step": step,
        "set_weight": current_set_weight(rollout) if _canary(rollout) is not None else None,
        "actual_weight": actual_weight(rollout, replica_sets),
        "weights": weights,
        "traffic_on_stable": traffic_on_stable(rollout, weights),
        # The controller writes status.observedGeneration on every reconcile: without it no
        # controller has ever looked at this Rollout.
        "controller_seen": "observedGeneration" in status,
        "observed": is_generation_observed(rollout),
        "stable_hash": status.get("stableRS"),
        "canary_hash": status.get("currentPodHash"),
        "stable_revision_hash": status.get("stableRS"),
        "fully_promoted": is_fully_promoted(rollout),
        "replicas": {
            "desired": desired_replicas(rollout),
            "current": _int(status.get("replicas")),
            "updated": _int(status.get("updatedReplicas")),
            "ready": _int(status.get("readyReplicas")),
            "available": _int(status.get("availableReplicas")),
        },
        "images": [
            {"name": c.get("name"), "image": c.get("image")}
            for c in (((rollout.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
                "containers"
            )
            or []
        ],
        "background_analysis": canary_status.get("currentBackgroundAnalysisRunStatus"),
        "step_analysis": canary_status.get("currentStepAnalysisRunStatus"),
        "analysis_runs": analysis,
        "failing_metric": failing_metric(analysis),
    }


# ---------------------------------------------------------------------------------- patches
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def set_image_patch(obj, container, image):
    """Merge patch that sets the image of every container named ``container`` (or of every
    container with ``*``) in every container list of spec.template -- init, regular and ephemeral
    containers, like the plugin's newRolloutSetImage -- or None when they all run it already.
    obj is the Rollout, or the Deployment its spec.workloadRef names. The patch carries
    metadata.resourceVersion: the API server refuses it (409 Conflict) when the object changed
    since it was read, as the plugin's Update does. Raises when no container matches."""
    pod_spec = copy.deepcopy(((obj.get("spec") or {}).get("template") or {}).get("spec") or {})
    found = False
    changed = {}
    for field in CONTAINER_FIELDS:
        items = pod_spec.get(field) or []
        for item in items:
            if item.get("name") == container or container == "*":
                found = True
                if item.get("image") != image:
                    item["image"] = image
                    changed[field] = items
    if not found:
        names = [c.get("name") for f in CONTAINER_FIELDS for c in pod_spec.get(f) or []]
        raise RolloutActionError(
            f"unable to find container named {container!r} (containers: {names})"
        )
    if not changed:
        return None
    patch = {"spec": {"template": {"spec": changed}}}
    version = (obj.get("metadata") or {}).get("resourceVersion")
    if version:
        patch["metadata"] = {"resourceVersion": version}
    return patch


def workload_ref(rollout):
    """spec.workloadRef ({apiVersion, kind, name}) or None."""
    return (rollout.get("spec") or {}).get("workloadRef") or None


def _inconclusive_step(rollout):
    """The plugin's isInconclusive: a canary whose step AnalysisRun is Inconclusive."""
    step_run = (_status(rollout).get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
    return _canary(rollout) is not None and step_run.get("status") == "Inconclusive"


def promote_patches(rollout, full=False):
    """(spec_patch, status_patch) like the plugin's promote (getPatches); None entries mean
    nothing to send.

    Full: unpause spec.paused and set status.promoteFull unless the desired version is already
    stable. One step: unpause spec.paused, and clear status.pauseConditions; when a step analysis
    is Inconclusive and the controller paused, also clear controllerPause and move to the next
    step; when nothing is paused but a canary step runs (analysis/experiment), move to the next
    step. A finished rollout has nothing left to promote (the plugin would send a no-op patch).
    """
    spec = rollout.get("spec") or {}
    status = _status(rollout)
    spec_patch = {"spec": {"paused": False}} if spec.get("paused") else None
    if full:
        if status.get("currentPodHash") != status.get("stableRS"):
            return spec_patch, {"status": {"promoteFull": True}}
        return spec_patch, None
    steps = _steps(rollout)
    index = _int(status.get("currentStepIndex"), 0)
    next_index = index + 1 if index < len(steps) else index
    if (
        _inconclusive_step(rollout)
        and status.get("pauseConditions")
        and status.get("controllerPause")
    ):
        if steps:
            return spec_patch, {
                "status": {
                    "pauseConditions": None,
                    "controllerPause": False,
                    "currentStepIndex": next_index,
                }
            }
        return spec_patch, None
    if status.get("pauseConditions"):
        return spec_patch, {"status": {"pauseConditions": None}}
    if _canary(rollout) is not None and steps:
        if is_fully_promoted(rollout) and index >= len(steps):
            return spec_patch, None  # nothing left to promote
        return spec_patch, {"status": {"pauseConditions": None, "currentStepIndex": next_index}}
    return spec_patch, None


def abort_patch(rollout):
    """status.abort=true, or None when already aborted."""
    if _status(rollout).get("abort"):
        return None
    return {"status": {"abort": True}}


def retry_patch(rollout):
    """status.abort=false (the controller then restarts the steps from the first), or None when
    the rollout is not aborted."""
    if not _status(rollout).get("abort"):
        return None
    return {"status": {"abort": False}}


def apply_merge_patch(obj, patch):
    """RFC 7386 merge patch, to predict the result in check mode and in tests."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# ------------------------------------------------------------------------------------- wait
def wait_outcome(summary, wait_for):
    """'done' when the phase is one of wait_for, 'unexpected' when it is Degraded and Degraded
    was not asked for, else 'continue'."""
    if summary["phase"] in wait_for:
        return "done"
    if summary["phase"] == DEGRADED:
        return "unexpected"
    return "continue"


def progress_key(summary):
    """What changes when a rollout moves: phase, step, canary weight, the pause reasons (an
    InconclusiveAnalysisRun pause can come while the rollout is already Paused at a step), the
    abort flag and the phases of the current AnalysisRuns."""
    return (
        summary["phase"],
        summary["step_index"],
        summary["weights"]["canary"],
        tuple(sorted(str(r) for r in summary.get("pause_reasons") or [])),
        summary.get("aborted"),
        tuple((r.get("name"), r.get("phase")) for r in summary.get("analysis_runs") or []),
    )
