# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Decisions of the platform_k8s role, kept out of Jinja so they can be unit tested
(tests/unit/test_platform_k8s_filters.py). No client code: the tasks read, these decide.

- platform_k8s_helm_version_problem: is the Helm CLI one kubernetes.core 6.2.0 can drive?
- platform_k8s_helm_repair: what to do with a release Helm left failed or pending.
- platform_k8s_check_mode_plan: which objects the API server can dry-run in check mode.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# kubernetes.core 6.2.0 plugins/module_utils/helm.py get_helm_version: the same two patterns,
# so the version judged here is the one the modules see.
_HELM_VERSION = (
    re.compile(r'version.BuildInfo{Version:"v(.*?)",'),
    re.compile(r'Client: &version.Version{SemVer:"v(.*?)", '),
)

# helm/helm v3.21.4 pkg/release/status.go
DEPLOYED, SUPERSEDED, FAILED = "deployed", "superseded", "failed"
PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
UNINSTALLING = "uninstalling"


def _version_tuple(text):
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", text or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups())


def helm_version(output):
    """The version `helm version` reports, as kubernetes.core parses it, or None."""
    for pattern in _HELM_VERSION:
        match = pattern.match(output or "")
        if match:
            return match.group(1)
    return None


def helm_version_problem(command_result, minimum, below, pinned):
    """'' when the Helm CLI is in [minimum, below), else a message naming the range and pin.

    command_result: the registered result of `helm version` (rc, stdout, msg).
    """
    supported = f">={minimum},<{below}"
    advice = f"install Helm {pinned} (supported: {supported}, for kubernetes.core 6.2.0)"
    if command_result.get("rc") != 0:
        reason = command_result.get("msg") or command_result.get("stderr") or "it does not run"
        return f"the Helm CLI is missing or broken ({reason}); {advice}"
    found = helm_version(command_result.get("stdout", ""))
    parsed = _version_tuple(found)
    if parsed is None:
        return f"cannot read the Helm version from {command_result.get('stdout', '')!r}; {advice}"
    low, high = _version_tuple(minimum), _version_tuple(below)
    if low is None or high is None:
        raise AnsibleFilterError(f"the supported Helm range {supported} is not x.y.z bounds")
    if not low <= parsed < high:
        return f"Helm {found} is not supported; {advice}"
    return ""


def _revision(meta):
    labels = (meta or {}).get("labels") or {}
    try:
        version = int(labels.get("version", ""))
    except ValueError:
        version = None
    return {"name": (meta or {}).get("name"), "status": labels.get("status"), "version": version}


def helm_repair(release, storage):
    """How to bring a release back to a state `helm upgrade --install` can work from.

    release: kubernetes.core.helm_info ``status`` with release_state [all] (latest revision:
    name, revision, status, ...), or None when there is no release.
    storage: metadata of the release's storage Secrets (Helm's default driver: Secrets
    ``sh.helm.release.v1.<name>.v<revision>`` labelled owner=helm, name, status, version;
    helm v3.21.4 pkg/storage/driver/secrets.go).

    Returns {action, forget, reason}: action ``none``; ``uninstall`` (no revision ever
    completed: a first install that failed or was interrupted, so uninstall and install again);
    or ``forget`` (delete the storage Secrets of the revisions after the last completed one, so
    the release is back at that revision and the next upgrade starts from it). Why not what the
    modules do alone: kubernetes.core.helm (6.2.0) lists releases without --all, so it never
    sees a pending one and its upgrade meets Helm's "another operation is in progress"
    (pkg/action/upgrade.go errPending); and it compares only values and chart, so it leaves a
    failed release failed when they match.
    """
    status = (release or {}).get("status")
    if not status or status == DEPLOYED:
        return {"action": "none", "forget": [], "reason": f"release is {status or 'not installed'}"}
    if status not in (FAILED, UNINSTALLING, *PENDING):
        return {"action": "none", "forget": [], "reason": f"release is {status}"}
    revisions = [_revision(meta) for meta in storage or []]
    revisions = [r for r in revisions if r["version"] is not None and r["name"]]
    if not revisions:
        raise AnsibleFilterError(
            f"release {release.get('name')} is {status} but none of its revisions are stored as "
            "Secrets (owner=helm): the repair needs Helm's default storage driver (HELM_DRIVER "
            "unset or 'secret'); repair it by hand (helm rollback or helm uninstall)"
        )
    completed = [r for r in revisions if r["status"] in (DEPLOYED, SUPERSEDED)]
    if not completed:
        if status == UNINSTALLING:
            return {
                "action": "forget",
                "forget": sorted(r["name"] for r in revisions),
                "reason": "an uninstall was interrupted: forget the release and install it again",
            }
        return {
            "action": "uninstall",
            "forget": [],
            "reason": f"no revision ever completed (latest is {status}): uninstall, then install",
        }
    last_good = max(r["version"] for r in completed)
    forget = sorted((r for r in revisions if r["version"] > last_good), key=lambda r: r["version"])
    return {
        "action": "forget" if forget else "none",
        "forget": [r["name"] for r in forget],
        "reason": (
            f"revisions {[r['version'] for r in forget]} never completed (latest is {status}): "
            f"back to revision {last_good}, then upgrade"
        ),
    }


def check_mode_plan(manifests, namespaces, apis):
    """Split objects into those the API server can dry-run and those it cannot yet.

    namespaces: names of the namespaces that exist. apis: kubernetes.core.k8s_cluster_info
    ``apis`` ({"v1" or "group/version": {Kind: {namespaced, ...}}}). A server-side dry run fails
    for a kind whose CRD is not installed yet and for an object in a namespace that does not
    exist yet; both would be created by this run, so they are reported as "would create".
    """
    existing = set(namespaces or [])
    plan = {"dry_run": [], "would_create": []}
    for obj in manifests or []:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        meta = obj.get("metadata") or {}
        label = f"{kind}/{meta.get('name')}" + (
            f" in {meta['namespace']}" if meta.get("namespace") else ""
        )
        served = (apis or {}).get(api_version, {}).get(kind)
        if served is None:
            plan["would_create"].append(
                {"object": label, "reason": f"{api_version} {kind} is not served yet"}
            )
        elif served.get("namespaced") and meta.get("namespace") not in existing:
            plan["would_create"].append(
                {"object": label, "reason": f"namespace {meta.get('namespace')} does not exist yet"}
            )
        else:
            plan["dry_run"].append(obj)
    return plan


class FilterModule:
    def filters(self):
        return {
            "platform_k8s_helm_version_problem": helm_version_problem,
            "platform_k8s_helm_repair": helm_repair,
            "platform_k8s_check_mode_plan": check_mode_plan,
        }
