#!/usr/bin/python
# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: external_secret_verify
short_description: Verify end to end that an ExternalSecret synced the current provider value
description:
  - Waits until an External Secrets Operator C(ExternalSecret) is Ready (C(status.conditions)
    Ready=True for its current generation) and the Kubernetes Secret it manages holds what the
    current AWS Secrets Manager version yields.
  - ESO v1 does not record the provider's version id (C(status.syncedResourceVersion) is the
    ExternalSecret's own generation and metadata hash), so the module compares a SHA-256 digest of
    the data the current Secrets Manager value yields with a digest of the Secret's data.
  - Never returns or prints a secret value; results hold states, key names and digest verdicts only.
  - Distinguishes C(ready), C(not_ready) (with the condition's message), C(stale) (Secret holds an
    older version), C(missing_secret), C(missing_store) and C(missing_external_secret).
  - With I(force_sync), a Secret that holds an older version makes the module set the
    ExternalSecret's C(force-sync) annotation to the current Secrets Manager VersionId, the manual
    refresh ESO documents (docs/api/externalsecret.md, Manual Refresh). Any change of an
    ExternalSecret's labels or annotations changes its resource version
    (pkg/controllers/util/util.go GetResourceVersion), and the periodic refresh policy syncs at once
    when that differs from C(status.syncedResourceVersion) (externalsecret_controller.go
    shouldRefreshPeriodic); otherwise ESO waits for C(refreshInterval). The value is a version id,
    never a secret; the same version is never annotated twice, so repeated runs change nothing.
  - Otherwise read-only; in check mode nothing is annotated and the state is only reported.
options:
  name:
    description: Name of the ExternalSecret.
    type: str
    required: true
  namespace:
    description: Namespace of the ExternalSecret.
    type: str
    required: true
  secret_id:
    description:
      - Secrets Manager name or ARN whose current version the Secret must reflect.
      - Defaults to the only C(remoteRef.key) of the ExternalSecret's C(spec.data).
    type: str
  keys:
    description:
      - Expected Secret keys mapped to the property of the Secrets Manager JSON value they hold
        (gjson-style path such as C(keys.0); empty string = the whole value).
      - Defaults to what C(spec.data) and a plain-copy C(target.template) imply.
    type: dict
  compare_provider:
    description: Fetch the Secrets Manager value and compare digests. When false only readiness
      and the Secret's existence are checked.
    type: bool
    default: true
  force_sync:
    description:
      - When the Secret holds an older version than Secrets Manager's current one, annotate the
        ExternalSecret with C(force-sync=<VersionId>) so ESO syncs now instead of after
        C(refreshInterval), then keep waiting. Needs I(compare_provider).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the sync before reporting the last state.
    type: int
    default: 120
  poll_interval:
    description: Seconds between two checks.
    type: int
    default: 5
  fail_on_error:
    description: Fail when the sync is not verified within I(timeout); otherwise report the state.
    type: bool
    default: true
  region:
    description: AWS region of Secrets Manager.
    type: str
  endpoint_url:
    description: Secrets Manager endpoint, for emulated AWS (moto).
    type: str
  aws_access_key_id:
    description: Access key; defaults to the usual AWS credential chain.
    type: str
  aws_secret_access_key:
    description: Secret key; defaults to the usual AWS credential chain.
    type: str
  profile:
    description: Named AWS profile.
    type: str
extends_documentation_fragment: [platform_k8s]
requirements: [kubernetes, boto3]
author: Platform team
"""

EXAMPLES = r"""
- name: Ensure the service's API keys reached the cluster
  external_secret_verify:
    name: model-api-keys
    namespace: model-api
    secret_id: "{{ platform_infra.secrets.service_api_keys.name }}"
    keys:
      api-keys.json: ""
      smoke-api-key: keys.0
    region: "{{ platform_infra.region }}"
    timeout: 180
"""

RETURN = r"""
state:
  description: One of ready, not_ready, stale, missing_secret, missing_store,
    missing_external_secret.
  returned: always
  type: str
  sample: ready
ready:
  description: Whether the sync is verified.
  returned: always
  type: bool
message:
  description: What was found, with the ExternalSecret's condition message when not Ready.
  returned: always
  type: str
reason:
  description: Reason of the ExternalSecret's Ready condition.
  returned: always
  type: str
  sample: SecretSynced
secret_keys:
  description: Names (never values) of the keys the Kubernetes Secret holds.
  returned: always
  type: list
  elements: str
version_id:
  description: Secrets Manager VersionId (AWSCURRENT) that was compared, when fetched.
  returned: when compare_provider
  type: str
forced:
  description: Whether the force-sync annotation was set (then changed is true).
  returned: always
  type: bool
attempts:
  description: Number of checks made.
  returned: always
  type: int
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.external_secrets import (
    MISSING_EXTERNAL_SECRET,
    STALE,
    ExternalSecretsError,
    Verdict,
    judge,
    key_map_from_spec,
    remote_keys,
    store_ref,
)
from ansible.module_utils.platform_k8s import (
    K8S_CONNECTION_ARGS,
    K8sClient,
    NotFoundError,
    PlatformModuleError,
    connection_params,
)

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False
    BotoCoreError = ClientError = Exception

ESO_GROUP = "external-secrets.io"
ESO_VERSION = "v1"
# The annotation ESO documents for a manual refresh (docs/api/externalsecret.md, v2.9.0); any
# annotation change triggers it, this name is the documented one.
FORCE_SYNC_ANNOTATION = "force-sync"


def k8s_client(params):
    return K8sClient(connection_params(params))


def secrets_manager_client(params):
    if not HAS_BOTO3:
        raise PlatformModuleError("the boto3 Python library is required")
    session = boto3.session.Session(
        aws_access_key_id=params.get("aws_access_key_id"),
        aws_secret_access_key=params.get("aws_secret_access_key"),
        profile_name=params.get("profile"),
        region_name=params.get("region"),
    )
    return session.client("secretsmanager", endpoint_url=params.get("endpoint_url") or None)


def read_store(client, external_secret):
    """The store the ExternalSecret points at, or None when it does not exist."""
    kind, name = store_ref(external_secret)
    try:
        if kind == "ClusterSecretStore":
            return client.get_cluster_custom(ESO_GROUP, ESO_VERSION, "clustersecretstores", name)
        return client.get_custom(
            ESO_GROUP,
            ESO_VERSION,
            "secretstores",
            external_secret["metadata"]["namespace"],
            name,
        )
    except NotFoundError:
        return None


def read_provider(sm_client, secret_id):
    """(value, version id) of the AWSCURRENT version. The value stays inside this module."""
    try:
        response = sm_client.get_secret_value(SecretId=secret_id)
    except (BotoCoreError, ClientError) as exc:
        # botocore messages name the secret id and error code, never the value.
        raise PlatformModuleError(f"cannot read {secret_id} from Secrets Manager: {exc}") from exc
    if "SecretString" not in response:
        raise PlatformModuleError(
            f"{secret_id} holds a binary value; only JSON strings are compared"
        )
    return response["SecretString"], response.get("VersionId", "")


def check_once(params, client, sm_client):
    """One look at the sync. Returns (Verdict, version id or None, ExternalSecret or None)."""
    name, namespace = params["name"], params["namespace"]
    try:
        external_secret = client.get_custom(
            ESO_GROUP, ESO_VERSION, "externalsecrets", namespace, name
        )
    except NotFoundError:
        return (
            Verdict(MISSING_EXTERNAL_SECRET, f"ExternalSecret {namespace}/{name} does not exist"),
            None,
            None,
        )
    store = read_store(client, external_secret)
    target = (external_secret.get("spec", {}).get("target") or {}).get("name") or name
    try:
        secret = client.get_secret(namespace, target)
    except NotFoundError:
        secret = None
    value = version_id = None
    key_map = None
    if params["compare_provider"] and store is not None and secret is not None:
        secret_id = params["secret_id"]
        if not secret_id:
            keys = remote_keys(external_secret)
            if len(keys) != 1:
                raise ExternalSecretsError(
                    f"spec.data reads {len(keys)} provider keys; set secret_id to compare one"
                )
            secret_id = keys[0]
        key_map = params["keys"] or key_map_from_spec(external_secret, secret_id)
        value, version_id = read_provider(sm_client, secret_id)
    verdict = judge(external_secret, store, secret, value, key_map)
    return verdict, version_id, external_secret


def force_sync(client, external_secret, version_id):
    """Annotate the ExternalSecret with force-sync=<version id> unless it already says so.

    Returns True when it was patched. A JSON merge patch of one annotation: the fields the
    platform applies (server-side, its own field manager) are left alone.
    """
    annotations = (external_secret.get("metadata") or {}).get("annotations") or {}
    if not version_id or annotations.get(FORCE_SYNC_ANNOTATION) == version_id:
        return False
    client.patch_custom(
        ESO_GROUP,
        ESO_VERSION,
        "externalsecrets",
        external_secret["metadata"]["namespace"],
        external_secret["metadata"]["name"],
        {"metadata": {"annotations": {FORCE_SYNC_ANNOTATION: version_id}}},
    )
    return True


def verify(params, client, sm_client, sleep=None, clock=None, check_mode=False):
    """Poll until ready or timeout. Returns (Verdict, version id, attempts, forced)."""
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    deadline = clock() + max(params["timeout"], 0)
    attempts = 0
    forced = False
    while True:
        attempts += 1
        verdict, version_id, external_secret = check_once(params, client, sm_client)
        if verdict.ready:
            return verdict, version_id, attempts, forced
        if (
            params.get("force_sync")
            and not check_mode
            and verdict.state == STALE
            and force_sync(client, external_secret, version_id)
        ):
            forced = True
        elif clock() >= deadline:
            return verdict, version_id, attempts, forced
        sleep(max(params["poll_interval"], 1))


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        secret_id=dict(type="str"),
        keys=dict(type="dict", no_log=False),
        compare_provider=dict(type="bool", default=True),
        force_sync=dict(type="bool", default=False),
        timeout=dict(type="int", default=120),
        poll_interval=dict(type="int", default=5),
        fail_on_error=dict(type="bool", default=True),
        region=dict(type="str"),
        endpoint_url=dict(type="str"),
        aws_access_key_id=dict(type="str", no_log=True),
        aws_secret_access_key=dict(type="str", no_log=True),
        profile=dict(type="str"),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["force_sync"] and not module.params["compare_provider"]:
        module.fail_json(msg="force_sync needs compare_provider: true (it acts on a stale Secret)")
    try:
        client = k8s_client(module.params)
        sm_client = (
            secrets_manager_client(module.params) if module.params["compare_provider"] else None
        )
        verdict, version_id, attempts, forced = verify(
            module.params, client, sm_client, check_mode=module.check_mode
        )
    except (PlatformModuleError, ExternalSecretsError) as exc:
        module.fail_json(
            msg=f"Failed to verify ExternalSecret {module.params['namespace']}/"
            f"{module.params['name']}: {exc}"
        )
    result = dict(changed=forced, forced=forced, attempts=attempts, **verdict.as_dict())
    if version_id is not None:
        result["version_id"] = version_id
    if not verdict.ready and module.params["fail_on_error"]:
        module.fail_json(
            msg=f"Failed to verify ExternalSecret {module.params['namespace']}/"
            f"{module.params['name']}: {verdict.state}: {verdict.message}",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
