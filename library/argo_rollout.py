#!/usr/bin/python
# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: argo_rollout
short_description: The verbs of the Argo Rollouts kubectl plugin for Ansible
description:
  - Reads and drives an Argo Rollouts C(Rollout) like C(kubectl argo rollouts) does, without the
    plugin binary.
  - C(status) reports the phase (computed like the plugin), the step, the canary and stable
    weights, the stable and canary pod template hashes, and the AnalysisRuns of the current
    revision with their metric results.
  - C(set_image) sets the image of every container named I(container) (C(*) for all) in every
    container list (init, regular, ephemeral) of C(spec.template), or of the Deployment that
    C(spec.workloadRef) names, like the plugin; the patch carries the C(resourceVersion) it read,
    so a concurrent change makes it fail (409 Conflict) instead of being overwritten.
  - C(promote) clears the pause conditions (one step; past an Inconclusive step analysis it also
    clears C(controllerPause) and moves to the next step), or sets C(status.promoteFull) with
    I(full=true); both unpause C(spec.paused). C(abort) sets C(status.abort). C(retry) clears
    C(status.abort), after which the controller starts the steps again.
  - C(wait) polls until the phase is one of I(wait_for), failing on I(timeout) or when the
    rollout becomes Degraded and Degraded was not asked for. Up to I(error_retries) failed reads
    in a row (API errors, connection errors) are retried at I(poll_interval).
  - Status changes go to the C(status) subresource, like the plugin.
  - In check mode nothing is written; the result says what would change.
options:
  name:
    description: Name of the Rollout.
    type: str
    required: true
  namespace:
    description: Namespace of the Rollout.
    type: str
    required: true
  state:
    description: The verb.
    type: str
    default: status
    choices: [status, set_image, promote, abort, retry, wait]
    aliases: [action]
  container:
    description: Container whose image C(set_image) changes; C(*) changes every container.
    type: str
  image:
    description: New image for C(set_image).
    type: str
  full:
    description: With C(promote), skip the remaining steps, pauses and analysis.
    type: bool
    default: false
  wait_for:
    description:
      - Phases that end C(wait). Degraded ends it too, as a failure unless listed here.
    type: list
    elements: str
    default: [Healthy]
  progress:
    description:
      - With C(wait), also return (successfully) as soon as the phase, the step index, the canary
        weight, the pause reasons, the abort flag or an AnalysisRun's phase differs from the first
        read, so a playbook can print and decide on each change.
    type: bool
    default: false
  error_retries:
    description:
      - With C(wait), how many failed reads in a row are retried before the module fails. A
        missing Rollout is never retried.
    type: int
    default: 6
  timeout:
    description: Seconds C(wait) polls before it fails.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads while waiting.
    type: int
    default: 5
extends_documentation_fragment: [platform_k8s]
requirements: [kubernetes]
author: Platform team
"""

EXAMPLES = r"""
- name: Read the rollout like `kubectl argo rollouts get rollout model-api`
  argo_rollout:
    name: model-api
    namespace: model-api
  register: rollout

- name: Ensure the canary runs the new image
  argo_rollout:
    name: model-api
    namespace: model-api
    state: set_image
    container: model-api
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-platform/model-api:1.4.0

- name: Wait until the rollout is Healthy or paused at a step
  argo_rollout:
    name: model-api
    namespace: model-api
    state: wait
    wait_for: [Healthy, Paused]
    timeout: 900

- name: Promote one step
  argo_rollout:
    name: model-api
    namespace: model-api
    state: promote

- name: Abort the rollout (traffic goes back to the stable ReplicaSet)
  argo_rollout:
    name: model-api
    namespace: model-api
    state: abort
"""

RETURN = r"""
rollout:
  description: The rollout's status after the verb (see docs/canary.md for every field).
  returned: success
  type: dict
  contains:
    phase: {description: Healthy, Progressing, Paused or Degraded, type: str}
    message: {description: The phase message, type: str}
    aborted: {description: status.abort, type: bool}
    step_index: {description: Current step index (null without steps), type: int}
    step_total: {description: Number of canary steps, type: int}
    weights:
      description: >-
        {canary, stable, source}: source status (ALB weights the controller reports), replicas
        (share of available pods, no traffic routing), set-weight (desired) or computed (finished)
      type: dict
    actual_weight:
      description: The plugin's ActualWeight (the max weight once the steps are done)
      type: int
    traffic_on_stable:
      description: The Rollout says all traffic is on the stable version
      type: bool
    controller_seen:
      description: status.observedGeneration is set (a controller reconciled the Rollout)
      type: bool
    observed:
      description: The controller has observed the current generation
      type: bool
    stable_hash: {description: Pod template hash of the stable ReplicaSet, type: str}
    canary_hash: {description: Pod template hash of the desired (canary) ReplicaSet, type: str}
    analysis_runs: {description: AnalysisRuns of this revision with metric results, type: list}
    failing_metric: {description: First failed, errored or inconclusive metric, or null, type: dict}
  sample:
    phase: Paused
    message: CanaryPauseStep
    step_index: 1
    step_total: 7
    weights: {canary: 10, stable: 90, source: status}
patches:
  description: The merge patches sent (or, in check mode, that would be sent).
  returned: always
  type: list
  elements: dict
elapsed:
  description: Seconds spent waiting (C(wait) only).
  returned: when state is wait
  type: float
read_errors:
  description: The failed reads C(wait) retried (messages).
  returned: when state is wait
  type: list
  elements: str
"""

import time

from ansible.module_utils.argo_rollouts import (
    ANALYSIS_RUNS,
    DEGRADED,
    GROUP,
    PHASES,
    POD_TEMPLATE_HASH_LABEL,
    ROLLOUTS,
    VERSION,
    RolloutActionError,
    abort_patch,
    apply_merge_patch,
    progress_key,
    promote_patches,
    retry_patch,
    rollout_summary,
    set_image_patch,
    wait_outcome,
    workload_ref,
)
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.platform_k8s import (
    K8S_CONNECTION_ARGS,
    K8sClient,
    NotFoundError,
    PlatformModuleError,
    connection_params,
)

VERBS = {
    "status": "read",
    "set_image": "set the image of",
    "promote": "promote",
    "abort": "abort",
    "retry": "retry",
    "wait": "wait for",
}


class RolloutTimeout(PlatformModuleError):
    """wait ran out of time or saw an unexpected phase; carries the last summary."""

    def __init__(self, message, summary, read_errors=()):
        super().__init__(message)
        self.summary = summary
        self.read_errors = list(read_errors)


class Apps:
    """The apps/v1 calls the plugin makes too: ReplicaSets (replica-based weights) and the
    Deployment a workloadRef names. Uses the client's own methods when it has them."""

    def __init__(self, client):
        self.client = client
        self._api = None

    def _apps(self):
        if self._api is None:
            from kubernetes.client import AppsV1Api

            self._api = AppsV1Api(self.client.api_client)
        return self._api

    def _call(self, what, func, *args, **kwargs):
        from kubernetes.client.rest import ApiException

        try:
            result = func(*args, **kwargs)
        except ApiException as exc:
            raise K8sClient._error(exc, what) from exc
        return self.client.api_client.sanitize_for_serialization(result)

    def list_replica_sets(self, namespace, label_selector):
        if hasattr(self.client, "list_replica_sets"):
            return self.client.list_replica_sets(namespace, label_selector)
        result = self._call(
            f"replicasets.apps in {namespace}",
            self._apps().list_namespaced_replica_set,
            namespace,
            label_selector=label_selector,
        )
        return result.get("items") or []

    def get_deployment(self, namespace, name):
        if hasattr(self.client, "get_deployment"):
            return self.client.get_deployment(namespace, name)
        return self._call(
            f"deployments.apps {namespace}/{name}",
            self._apps().read_namespaced_deployment,
            name,
            namespace,
        )

    def patch_deployment(self, namespace, name, body):
        if hasattr(self.client, "patch_deployment"):
            return self.client.patch_deployment(namespace, name, body)
        return self._call(
            f"deployments.apps {namespace}/{name}",
            self._apps().patch_namespaced_deployment,
            name,
            namespace,
            body,
        )


class Rollouts:
    """The verbs, on top of a K8sClient."""

    def __init__(self, client, namespace, name):
        self.client = client
        self.apps = Apps(client)
        self.namespace = namespace
        self.name = name

    def get(self):
        return self.client.get_custom(GROUP, VERSION, ROLLOUTS, self.namespace, self.name)

    def replica_sets(self, rollout):
        """The canary ReplicaSet(s), only where the weights need them (no traffic routing)."""
        canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary")
        current = (rollout.get("status") or {}).get("currentPodHash")
        if canary is None or canary.get("trafficRouting") or not current:
            return []
        try:
            return self.apps.list_replica_sets(
                self.namespace, f"{POD_TEMPLATE_HASH_LABEL}={current}"
            )
        except NotFoundError:
            return []

    def summary(self, rollout=None):
        rollout = rollout if rollout is not None else self.get()
        try:
            runs = self.client.list_custom(GROUP, VERSION, ANALYSIS_RUNS, self.namespace)
        except NotFoundError:
            runs = []
        return rollout_summary(rollout, runs, self.replica_sets(rollout))

    def patch(self, patch, subresource=None):
        return self.client.patch_custom(
            GROUP, VERSION, ROLLOUTS, self.namespace, self.name, patch, subresource=subresource
        )

    def patch_status(self, patch):
        """Status subresource first; a 404 there means a controller without it (v0.9)."""
        try:
            return self.patch(patch, subresource="status")
        except NotFoundError:
            return self.patch(patch)

    def wait(
        self,
        wait_for,
        timeout,
        poll_interval,
        progress=False,
        sleep=None,
        clock=None,
        error_retries=0,
    ):
        sleep = sleep or time.sleep
        clock = clock or time.monotonic
        start = clock()
        first = None
        summary = None
        read_errors = []
        consecutive = 0
        while True:
            try:
                summary = self.summary()
            except NotFoundError:
                raise
            except Exception as exc:  # API and connection errors: transient up to a bound
                consecutive += 1
                read_errors.append(f"{type(exc).__name__}: {exc}")
                if consecutive > error_retries:
                    raise RolloutTimeout(
                        f"{consecutive} failed reads in a row (error_retries {error_retries}); "
                        f"last: {read_errors[-1]}",
                        summary,
                        read_errors,
                    ) from exc
                if round(clock() - start, 1) >= timeout:
                    raise RolloutTimeout(
                        f"timed out after {timeout}s; last read failed: {read_errors[-1]}",
                        summary,
                        read_errors,
                    ) from exc
                sleep(poll_interval)
                continue
            consecutive = 0
            outcome = wait_outcome(summary, wait_for)
            elapsed = round(clock() - start, 1)
            position = progress_key(summary)
            first = position if first is None else first
            if outcome == "done" or (progress and position != first):
                return summary, elapsed, read_errors
            if outcome == "unexpected":
                raise RolloutTimeout(
                    f"rollout is {DEGRADED}: {summary['message'] or 'no message'}",
                    summary,
                    read_errors,
                )
            if elapsed >= timeout:
                raise RolloutTimeout(
                    f"timed out after {timeout}s waiting for {'/'.join(wait_for)}; phase is "
                    f"{summary['phase']}: {summary['message'] or 'no message'}",
                    summary,
                    read_errors,
                )
            sleep(poll_interval)


# cmd/set/set_image.go: the plugin re-reads and retries an update that hit a conflict.
SET_IMAGE_ATTEMPTS = 5


def _is_conflict(exc):
    return "API error 409" in str(exc)


def set_image(module, rollouts):
    """set_image like the plugin: the Rollout's template, or the Deployment of its workloadRef;
    read, patch with the read resourceVersion, and on a 409 Conflict read and try again."""
    params = module.params
    for attempt in range(1, SET_IMAGE_ATTEMPTS + 1):
        rollout = rollouts.get()
        ref = workload_ref(rollout)
        if ref and ref.get("kind", "Deployment") != "Deployment":
            raise RolloutActionError(
                f"spec.workloadRef is a {ref.get('kind')}; only a Deployment can be updated"
            )
        target = rollouts.apps.get_deployment(params["namespace"], ref["name"]) if ref else rollout
        patch = set_image_patch(target, params["container"], params["image"])
        extra = {"workload": {"kind": "Deployment", "name": ref["name"]}} if ref else {}
        if patch is None:
            return dict(changed=False, rollout=rollouts.summary(rollout), patches=[], **extra)
        if module.check_mode:
            predicted = rollout if ref else apply_merge_patch(rollout, patch)
            return dict(changed=True, rollout=rollouts.summary(predicted), patches=[patch], **extra)
        try:
            if ref:
                rollouts.apps.patch_deployment(params["namespace"], ref["name"], patch)
            else:
                rollout = rollouts.patch(patch)
        except PlatformModuleError as exc:
            if _is_conflict(exc) and attempt < SET_IMAGE_ATTEMPTS:
                continue
            raise
        return dict(changed=True, rollout=rollouts.summary(rollout), patches=[patch], **extra)
    raise RolloutActionError("unreachable")  # pragma: no cover


def run(module, client, sleep=None, clock=None):
    """Perform the verb; return the exit_json keyword arguments."""
    params = module.params
    rollouts = Rollouts(client, params["namespace"], params["name"])
    state = params["state"]
    if state == "wait":
        summary, elapsed, read_errors = rollouts.wait(
            params["wait_for"],
            params["timeout"],
            params["poll_interval"],
            params["progress"],
            sleep,
            clock,
            params["error_retries"],
        )
        return dict(
            changed=False, rollout=summary, patches=[], elapsed=elapsed, read_errors=read_errors
        )

    if state == "set_image":
        return set_image(module, rollouts)
    rollout = rollouts.get()
    spec_patch, status_patch = None, None
    if state == "promote":
        spec_patch, status_patch = promote_patches(rollout, params["full"])
    elif state == "abort":
        status_patch = abort_patch(rollout)
    elif state == "retry":
        status_patch = retry_patch(rollout)
    patches = [p for p in (spec_patch, status_patch) if p is not None]
    if not patches:
        return dict(changed=False, rollout=rollouts.summary(rollout), patches=[])
    if module.check_mode:
        predicted = rollout
        for patch in patches:
            predicted = apply_merge_patch(predicted, patch)
        return dict(changed=True, rollout=rollouts.summary(predicted), patches=patches)
    if status_patch is not None:
        rollout = rollouts.patch_status(status_patch)
    if spec_patch is not None:
        rollout = rollouts.patch(spec_patch)
    return dict(changed=True, rollout=rollouts.summary(rollout), patches=patches)


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        state=dict(type="str", default="status", choices=list(VERBS), aliases=["action"]),
        container=dict(type="str"),
        image=dict(type="str"),
        full=dict(type="bool", default=False),
        wait_for=dict(type="list", elements="str", default=["Healthy"]),
        progress=dict(type="bool", default=False),
        timeout=dict(type="int", default=600),
        poll_interval=dict(type="int", default=5),
        error_retries=dict(type="int", default=6),
        **K8S_CONNECTION_ARGS,
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "set_image", ("container", "image"))],
        supports_check_mode=True,
    )
    params = module.params
    what = f"Rollout {params['namespace']}/{params['name']}"
    verb = VERBS[params["state"]]
    unknown = [p for p in params["wait_for"] if p not in PHASES]
    if unknown:
        module.fail_json(
            msg=f"Failed to {verb} {what}: wait_for has {unknown}; allowed: {list(PHASES)}"
        )
    try:
        client = K8sClient(connection_params(params))
        result = run(module, client)
    except RolloutTimeout as exc:
        module.fail_json(
            msg=f"Failed to {verb} {what}: {exc}", rollout=exc.summary, read_errors=exc.read_errors
        )
    except (PlatformModuleError, RolloutActionError) as exc:
        module.fail_json(msg=f"Failed to {verb} {what}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
