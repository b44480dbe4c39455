"""Rotation against emulated Secrets Manager (moto): a new version reaches the Secret only when the
verify step forces ESO to sync, and the verify module sees ESO's real status shape.

The cluster side is a small model of External Secrets v2.9.0's ExternalSecret reconcile, taken
from its source (external-secrets/external-secrets, tag v2.9.0):
- when to sync: pkg/controllers/externalsecret/externalsecret_controller.go shouldRefreshPeriodic
  (the default refreshPolicy): sync when status.syncedResourceVersion differs from
  GetResourceVersion(metadata), when refreshTime is zero, or when refreshInterval has passed;
- what a sync records: markAsDone: Ready=True, reason SecretSynced
  (apis/externalsecrets/v1/externalsecret_types.go), message "secret synced" (msgSynced),
  refreshTime = start, syncedResourceVersion = GetResourceVersion(metadata);
- GetResourceVersion (pkg/controllers/util/util.go): "<generation>-<HashMeta>", HashMeta =
  sha3-224 of Go's fmt "%+v" of {annotations, labels} (runtime/esutils/utils.go ObjectHash);
- status layout: tests/__snapshot__/externalsecret-v1.yaml (conditions, refreshTime,
  syncedResourceVersion).
Secrets Manager is moto (bin/aws-emulator). Real AWS adds IAM and KMS checks on
GetSecretValue, which the external_secrets IAM statements cover (terraform/modules/addon_iam).
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import importlib
import json
import sys

import pytest

from tests.support.aws import load_emulator
from tests.support.external_secret import model_api_keys

boto3 = pytest.importorskip("boto3")

import ansible.module_utils  # noqa: E402,F401

from tests.support.aws import emulated_client  # noqa: E402

for _name in ("platform_k8s", "external_secrets"):
    sys.modules.setdefault(f"ansible.module_utils.{_name}", importlib.import_module(_name))

import external_secret_verify as module  # noqa: E402

from platform_k8s import NotFoundError  # noqa: E402

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
SECRET_NAME = "ml-platform/rotation/service/api-keys"
V1 = {"keys": ["rot-key-" + "a" * 40, "rot-key-" + "b" * 40]}
V2 = {"keys": ["rot-key-" + "c" * 40, "rot-key-" + "d" * 40]}


def go_map(mapping):
    """Go's fmt rendering of a map[string]string: keys sorted, 'map[k:v k2:v2]'."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted((mapping or {}).items())) + "]"


def resource_version(metadata):
    """ESO's GetResourceVersion(ObjectMeta) (pkg/controllers/util/util.go, v2.9.0)."""
    annotations, labels = go_map(metadata.get("annotations")), go_map(metadata.get("labels"))
    text = "{annotations:" + annotations + " labels:" + labels + "}"
    return f"{metadata['generation']}-{hashlib.sha3_224(text.encode()).hexdigest()}"


class EsoModel:
    """One ExternalSecret, its store and its Secret, reconciled the way ESO v2.9.0 does.

    Implements the K8sClient methods external_secret_verify uses. Time stands still well inside
    refreshInterval (1h), so only a metadata change can make ESO sync again.
    """

    def __init__(self, sm, external_secret):
        self.sm, self.es, self.secret = sm, external_secret, None
        self.now = datetime.datetime(2026, 11, 30, 20, 0, 0, tzinfo=datetime.UTC)
        self.syncs = 0
        self.patches = []

    def should_refresh(self):
        status = self.es.get("status") or {}
        if status.get("syncedResourceVersion") != resource_version(self.es["metadata"]):
            return True
        return not status.get("refreshTime")  # the interval (1h) never passes here

    def reconcile(self):
        if not self.should_refresh():
            return
        fetched = {}
        for item in self.es["spec"]["data"]:
            raw = self.sm.get_secret_value(SecretId=item["remoteRef"]["key"])["SecretString"]
            prop = item["remoteRef"].get("property")
            value = raw if not prop else json.loads(raw)["keys"][int(prop.split(".")[1])]
            fetched[item["secretKey"]] = value
        data = {
            key: fetched[text.split(".")[1].split()[0]]
            for key, text in self.es["spec"]["target"]["template"]["data"].items()
        }
        self.secret = {
            "metadata": {"name": self.es["spec"]["target"]["name"], "namespace": "model-api"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        self.es["status"] = {
            "binding": {"name": ""},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "SecretSynced",
                    "message": "secret synced",
                    "lastTransitionTime": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
            "refreshTime": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "syncedResourceVersion": resource_version(self.es["metadata"]),
        }
        self.syncs += 1

    # --- K8sClient surface ---------------------------------------------------------------------

    def get_custom(self, group, version, plural, namespace, name):
        assert (group, version, plural) == ("external-secrets.io", "v1", "externalsecrets")
        self.reconcile()
        return copy.deepcopy(self.es)

    def get_cluster_custom(self, group, version, plural, name):
        assert plural == "clustersecretstores" and name == "aws-secrets-manager"
        return {"metadata": {"name": name}}

    def get_secret(self, namespace, name):
        if self.secret is None:
            raise NotFoundError(f"Secret {namespace}/{name} not found")
        return copy.deepcopy(self.secret)

    def patch_custom(self, group, version, plural, namespace, name, body, subresource=None):
        assert subresource is None and plural == "externalsecrets"
        assert set(body) == {"metadata"} and set(body["metadata"]) == {"annotations"}
        self.patches.append(body)
        self.es["metadata"].setdefault("annotations", {}).update(body["metadata"]["annotations"])
        return copy.deepcopy(self.es)  # metadata changes do not bump metadata.generation


def the_external_secret():
    """As roles/platform_secrets/templates/objects.yml.j2 renders model-api-keys."""
    return model_api_keys(SECRET_NAME, labels={"app.kubernetes.io/component": "platform-secrets"})


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory, repo_root):
    aws_emulator = load_emulator()
    state = tmp_path_factory.mktemp("aws")
    yield aws_emulator.start(state)["endpoint"]
    aws_emulator.stop(state)


def params(endpoint, **extra):
    return {
        "name": "model-api-keys",
        "namespace": "model-api",
        "secret_id": SECRET_NAME,
        "keys": None,
        "compare_provider": True,
        "force_sync": False,
        "timeout": 30,
        "poll_interval": 5,
        "region": REGION,
        "endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "profile": None,
        **extra,
    }


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def test_rotation_reaches_the_secret_only_with_force_sync(endpoint):
    setup = emulated_client(endpoint, "secretsmanager", REGION)
    setup.create_secret(Name=SECRET_NAME, SecretString=json.dumps(V1))
    sm = module.secrets_manager_client(params(endpoint))
    eso = EsoModel(sm, the_external_secret())

    # First sync: ready, nothing forced.
    clock = FakeClock()
    verdict, _, _, forced = module.verify(
        params(endpoint, force_sync=True), eso, sm, sleep=clock.sleep, clock=clock
    )
    assert verdict.state == "ready" and not forced and eso.syncs == 1
    assert eso.es["status"]["conditions"][0]["message"] == "secret synced"

    # Rotation, as the stage writes it (a new AWSCURRENT version).
    new_version = setup.put_secret_value(SecretId=SECRET_NAME, SecretString=json.dumps(V2))[
        "VersionId"
    ]

    # Today's behaviour: waiting does not help inside refreshInterval -> stale, run fails.
    clock = FakeClock()
    verdict, _, attempts, forced = module.verify(
        params(endpoint), eso, sm, sleep=clock.sleep, clock=clock
    )
    assert verdict.state == "stale" and not forced and attempts > 1 and eso.syncs == 1
    assert "refreshes every 1h" in verdict.message

    # Check mode: reports, annotates nothing.
    verdict, _, _, forced = module.verify(
        params(endpoint, force_sync=True, timeout=0),
        eso,
        sm,
        sleep=clock.sleep,
        clock=clock,
        check_mode=True,
    )
    assert verdict.state == "stale" and not forced and eso.patches == []

    # With force_sync: annotated with the new version id, ESO syncs at once, verified.
    clock = FakeClock()
    verdict, version_id, _, forced = module.verify(
        params(endpoint, force_sync=True), eso, sm, sleep=clock.sleep, clock=clock
    )
    assert verdict.state == "ready" and forced and version_id == new_version
    assert eso.patches == [{"metadata": {"annotations": {"force-sync": new_version}}}]
    assert eso.syncs == 2 and clock.t <= 5
    data = {k: base64.b64decode(v).decode() for k, v in eso.secret["data"].items()}
    assert json.loads(data["api-keys.json"]) == V2 and data["smoke-api-key"] == V2["keys"][0]

    # Repeat: nothing to force, nothing changes.
    verdict, _, _, forced = module.verify(
        params(endpoint, force_sync=True), eso, sm, sleep=clock.sleep, clock=clock
    )
    assert verdict.state == "ready" and not forced and len(eso.patches) == 1 and eso.syncs == 2


def test_resource_version_model_matches_eso_shape():
    """'<generation>-<56 hex>' (sha3-224), and an annotation change alters it."""
    meta = {"generation": 3, "labels": {"a": "b"}}
    before = resource_version(meta)
    assert before.startswith("3-") and len(before.split("-", 1)[1]) == 56
    meta["annotations"] = {"force-sync": "v2"}
    assert resource_version(meta) != before and resource_version(meta).startswith("3-")
