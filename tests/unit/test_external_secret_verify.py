"""Unit tests of library/external_secret_verify.py and module_utils/external_secrets.py.

Fake Kubernetes and Secrets Manager clients; main() is driven with patched exit_json/fail_json.
Every test also checks that no secret value appears anywhere in what the module returns.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys

# tests/conftest.py puts module_utils/ and library/ on sys.path. Register the shared code as
# ansible.module_utils.<name> the way Ansible ships it to a module (tests/unit/conftest.py may
# already have done so; setdefault keeps its registration).
import ansible.module_utils  # noqa: F401  (the package must exist before its children)
import pytest

for _name in ("platform_k8s", "external_secrets"):
    sys.modules.setdefault(f"ansible.module_utils.{_name}", importlib.import_module(_name))

import external_secret_verify as module  # noqa: E402
import external_secrets as es  # noqa: E402
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from platform_k8s import NotFoundError  # noqa: E402
from tests.support.external_secret import model_api_keys  # noqa: E402

SECRET_ID = "ml-platform/local/service/api-keys"
KEY_A = "kA7" + "x" * 40  # stand-ins for API keys; must never appear in any output
KEY_B = "kB9" + "y" * 40
OLD_KEY = "kOLD" + "z" * 40
CURRENT_VALUE = json.dumps({"keys": [KEY_A, KEY_B]})
OLD_VALUE = json.dumps({"keys": [OLD_KEY]})
SENSITIVE = (KEY_A, KEY_B, OLD_KEY, CURRENT_VALUE, OLD_VALUE)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def external_secret(
    ready="True",
    message="Secret was synced",
    reason="SecretSynced",
    generation=3,
    synced=None,
    store_kind="ClusterSecretStore",
):
    obj = model_api_keys(
        SECRET_ID, refresh_interval="1m", generation=generation, store_kind=store_kind
    )
    obj["status"] = {"syncedResourceVersion": synced or f"{generation}-0a1b2c"}
    if ready is not None:
        obj["status"]["conditions"] = [
            {"type": "Ready", "status": ready, "reason": reason, "message": message}
        ]
    return obj


def k8s_secret(value=CURRENT_VALUE):
    first = json.loads(value)["keys"][0]
    return {
        "metadata": {"name": "model-api-keys", "namespace": "model-api"},
        "data": {"api-keys.json": b64(value), "smoke-api-key": b64(first)},
    }


class FakeK8s:
    """Stands in for platform_k8s.K8sClient; None for an object means 404."""

    def __init__(self, es_obj, store=True, secret=None):
        self.es_obj, self.store, self.secret = es_obj, store, secret

    def get_custom(self, group, version, plural, namespace, name):
        if plural == "externalsecrets" and self.es_obj is not None:
            return self.es_obj
        if plural == "secretstores" and self.store:
            return {"metadata": {"name": name}}
        raise NotFoundError(f"{plural}.{group} {namespace}/{name} not found")

    def get_cluster_custom(self, group, version, plural, name):
        if self.store:
            return {"metadata": {"name": name}}
        raise NotFoundError(f"{plural}.{group} {name} not found")

    def get_secret(self, namespace, name):
        if self.secret is None:
            raise NotFoundError(f"Secret {namespace}/{name} not found")
        return self.secret


class FakeSecretsManager:
    def __init__(self, value=CURRENT_VALUE, version="v-0002"):
        self.value, self.version, self.calls = value, version, 0

    def get_secret_value(self, SecretId):
        assert SecretId == SECRET_ID
        self.calls += 1
        return {"SecretString": self.value, "VersionId": self.version, "Name": SecretId}


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result, self.failed = result, failed


def run_main(monkeypatch, fake_k8s, fake_sm, on_sleep=None, **args):
    params = {
        "name": "model-api-keys",
        "namespace": "model-api",
        "timeout": 0,
        "poll_interval": 1,
        **args,
    }

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, failed=False)

    def fail_json(self, msg, **kwargs):
        raise ModuleExit(dict(kwargs, msg=msg), failed=True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(module, "k8s_client", lambda params: fake_k8s)
    monkeypatch.setattr(module, "secrets_manager_client", lambda params: fake_sm)
    monkeypatch.setattr(module.time, "sleep", on_sleep or (lambda seconds: None))
    with patch_module_args(params), pytest.raises(ModuleExit) as caught:
        module.main()
    return caught.value


def assert_no_value(result):
    text = json.dumps(result, default=str)
    for sensitive in SENSITIVE:
        assert sensitive not in text
    assert KEY_A[:12] not in text and OLD_KEY[:12] not in text


# --- main(): the five outcomes ------------------------------------------------------------------


def test_ready_when_secret_holds_current_version(monkeypatch):
    sm = FakeSecretsManager()
    out = run_main(monkeypatch, FakeK8s(external_secret(), secret=k8s_secret()), sm)
    assert not out.failed
    assert out.result["state"] == "ready" and out.result["ready"] is True
    assert out.result["changed"] is False
    assert out.result["version_id"] == "v-0002"
    assert out.result["secret_keys"] == ["api-keys.json", "smoke-api-key"]
    assert sm.calls == 1
    assert_no_value(out.result)


def test_not_ready_reports_condition_message(monkeypatch):
    es_obj = external_secret(
        ready="False", reason="SecretSyncedError", message="could not get secret data from provider"
    )
    out = run_main(monkeypatch, FakeK8s(es_obj, secret=None), FakeSecretsManager())
    assert out.failed
    assert out.result["state"] == "not_ready"
    assert "could not get secret data from provider" in out.result["msg"]
    assert out.result["msg"].startswith("Failed to verify ExternalSecret model-api/model-api-keys:")
    assert out.result["reason"] == "SecretSyncedError"
    assert_no_value(out.result)


def test_stale_when_secret_holds_older_version(monkeypatch):
    out = run_main(
        monkeypatch, FakeK8s(external_secret(), secret=k8s_secret(OLD_VALUE)), FakeSecretsManager()
    )
    assert out.failed
    assert out.result["state"] == "stale"
    assert "SHA-256" in out.result["msg"] and "1m" in out.result["msg"]
    assert_no_value(out.result)


def test_missing_kubernetes_secret(monkeypatch):
    sm = FakeSecretsManager()
    out = run_main(monkeypatch, FakeK8s(external_secret(), secret=None), sm)
    assert out.failed
    assert out.result["state"] == "missing_secret"
    assert "Secret model-api-keys does not exist" in out.result["msg"]
    assert sm.calls == 0
    assert_no_value(out.result)


@pytest.mark.parametrize("store_exists", [False, True], ids=["store-object-absent", "condition"])
def test_missing_store(monkeypatch, store_exists):
    message = (
        'could not get ClusterSecretStore "aws-secrets-manager", ClusterSecretStore.'
        'external-secrets.io "aws-secrets-manager" not found'
    )
    es_obj = external_secret(ready="False", reason="SecretSyncedError", message=message)
    out = run_main(monkeypatch, FakeK8s(es_obj, store=store_exists), FakeSecretsManager())
    assert out.failed
    assert out.result["state"] == "missing_store"
    assert "ClusterSecretStore aws-secrets-manager does not exist" in out.result["msg"]
    assert_no_value(out.result)


def test_missing_external_secret(monkeypatch):
    out = run_main(monkeypatch, FakeK8s(None), FakeSecretsManager())
    assert out.failed and out.result["state"] == "missing_external_secret"


def test_report_only_does_not_fail(monkeypatch):
    out = run_main(
        monkeypatch,
        FakeK8s(external_secret(), secret=k8s_secret(OLD_VALUE)),
        FakeSecretsManager(),
        fail_on_error=False,
    )
    assert not out.failed and out.result["state"] == "stale" and out.result["ready"] is False
    assert_no_value(out.result)


def test_waits_until_sync_catches_up(monkeypatch):
    """The first look sees the old value; ESO syncs while the module sleeps: ready at the second."""
    fake = FakeK8s(external_secret(), secret=k8s_secret(OLD_VALUE))
    sleeps = []

    def eso_syncs(seconds):
        sleeps.append(seconds)
        fake.secret = k8s_secret()

    out = run_main(
        monkeypatch, fake, FakeSecretsManager(), on_sleep=eso_syncs, timeout=3600, poll_interval=7
    )
    assert not out.failed and out.result["state"] == "ready"
    assert out.result["attempts"] == 2 and sleeps == [7]


def test_check_mode_is_read_only(monkeypatch):
    out = run_main(
        monkeypatch,
        FakeK8s(external_secret(), secret=k8s_secret()),
        FakeSecretsManager(),
        _ansible_check_mode=True,
    )
    assert not out.failed and out.result["changed"] is False and out.result["ready"]


def test_unsupported_template_fails_with_reason(monkeypatch):
    es_obj = external_secret()
    es_obj["spec"]["target"]["template"]["data"]["smoke-api-key"] = "{{ .smoke | upper }}"
    out = run_main(monkeypatch, FakeK8s(es_obj, secret=k8s_secret()), FakeSecretsManager())
    assert out.failed and "pass the expected keys explicitly" in out.result["msg"]
    # An explicit key map makes the same object verifiable.
    out = run_main(
        monkeypatch,
        FakeK8s(es_obj, secret=k8s_secret()),
        FakeSecretsManager(),
        keys={"api-keys.json": "", "smoke-api-key": "keys.0"},
    )
    assert not out.failed and out.result["state"] == "ready"


# --- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("", CURRENT_VALUE.encode()),
        ("keys.0", KEY_A.encode()),
        ("keys.1", KEY_B.encode()),
        ("keys", json.dumps([KEY_A, KEY_B], separators=(",", ":")).encode()),
    ],
)
def test_extract_property(prop, expected):
    assert es.extract_property(CURRENT_VALUE, prop) == expected


@pytest.mark.parametrize("prop", ["keys.2", "missing", "keys.x"])
def test_extract_property_missing_never_echoes_value(prop):
    with pytest.raises(es.ExternalSecretsError) as caught:
        es.extract_property(CURRENT_VALUE, prop)
    assert KEY_A not in str(caught.value) and prop in str(caught.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"syncedResourceVersion": "3-abc"}, True),
        ({"syncedResourceVersion": "2-abc"}, False),
        ({}, False),
    ],
)
def test_generation_synced(status, expected):
    obj = {"metadata": {"generation": 3}, "status": status}
    assert es.generation_synced(obj) is expected


def test_key_map_from_spec_understands_plain_templates():
    assert es.key_map_from_spec(external_secret(), SECRET_ID) == {
        "api-keys.json": "",
        "smoke-api-key": "keys.0",
    }


def test_key_map_without_template_is_the_data_entries():
    obj = external_secret()
    del obj["spec"]["target"]["template"]
    assert es.key_map_from_spec(obj, SECRET_ID) == {"document": "", "smoke": "keys.0"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"k": b"v"}, {"k": b"v"}, True),
        ({"k": b"v"}, {"k": b"w"}, False),
        ({"k": b"v", "l": b""}, {"k": b"v"}, False),
        ({"ab": b"c"}, {"a": b"bc"}, False),
    ],
)
def test_digest(a, b, same):
    assert (es.digest(a) == es.digest(b)) is same


@pytest.mark.parametrize(
    ("es_kwargs", "store", "secret", "value", "state"),
    [
        ({}, True, k8s_secret(), CURRENT_VALUE, es.READY),
        ({}, True, k8s_secret(), None, es.READY),
        ({"ready": None}, True, None, None, es.NOT_READY),
        ({"synced": "2-old"}, True, k8s_secret(), CURRENT_VALUE, es.NOT_READY),
        ({}, True, k8s_secret(OLD_VALUE), CURRENT_VALUE, es.STALE),
        ({}, True, None, CURRENT_VALUE, es.MISSING_SECRET),
        ({}, None, k8s_secret(), CURRENT_VALUE, es.MISSING_STORE),
    ],
)
def test_judge(es_kwargs, store, secret, value, state):
    verdict = es.judge(
        external_secret(**es_kwargs),
        store,
        secret,
        value,
        {"api-keys.json": "", "smoke-api-key": "keys.0"},
    )
    assert verdict.state == state
    assert_no_value(verdict.as_dict())


def test_stale_when_a_key_is_missing_from_secret():
    secret = k8s_secret()
    del secret["data"]["smoke-api-key"]
    verdict = es.judge(
        external_secret(),
        True,
        secret,
        CURRENT_VALUE,
        {"api-keys.json": "", "smoke-api-key": "keys.0"},
    )
    assert verdict.state == es.STALE and "smoke-api-key" in verdict.message


# --- force_sync: the rotation path (ESO v2.9.0 refreshes on a metadata change) -----------------


class FakeK8sWithPatch(FakeK8s):
    """FakeK8s that records merge patches; ESO "syncs" when the force-sync annotation changes.

    Real status shape (external-secrets v2.9.0, markAsDone in
    pkg/controllers/externalsecret/externalsecret_controller.go): Ready/True/SecretSynced,
    message "secret synced", refreshTime, syncedResourceVersion "<generation>-<sha3-224 hex>".
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.patches = []

    def patch_custom(self, group, version, plural, namespace, name, body, subresource=None):
        self.patches.append((plural, namespace, name, body))
        self.es_obj.setdefault("metadata", {}).setdefault("annotations", {}).update(
            body["metadata"]["annotations"]
        )
        self.secret = k8s_secret()  # ESO syncs the current version right away
        return self.es_obj


def eso_status_es():
    obj = external_secret(message="secret synced", synced="3-" + "ab12" * 14)
    obj["status"]["refreshTime"] = "2026-11-30T19:00:00Z"
    obj["status"]["binding"] = {"name": ""}
    obj["spec"]["refreshInterval"] = "1h"
    return obj


def test_force_sync_annotates_a_stale_secret_and_verifies(monkeypatch):
    fake = FakeK8sWithPatch(eso_status_es(), secret=k8s_secret(OLD_VALUE))
    out = run_main(monkeypatch, fake, FakeSecretsManager(version="v-0002"), force_sync=True)
    assert not out.failed and out.result["state"] == "ready"
    assert out.result["changed"] is True and out.result["forced"] is True
    assert fake.patches == [
        (
            "externalsecrets",
            "model-api",
            "model-api-keys",
            {"metadata": {"annotations": {"force-sync": "v-0002"}}},
        )
    ]
    assert_no_value(out.result)


def test_without_force_sync_a_rotation_stays_stale_within_refresh_interval(monkeypatch):
    """Today's behaviour the stage relied on: nothing forces ESO, the run fails as stale."""
    fake = FakeK8sWithPatch(eso_status_es(), secret=k8s_secret(OLD_VALUE))
    out = run_main(monkeypatch, fake, FakeSecretsManager(), timeout=0)
    assert out.failed and out.result["state"] == "stale" and fake.patches == []


def test_force_sync_never_annotates_the_same_version_twice(monkeypatch):
    es_obj = eso_status_es()
    es_obj["metadata"]["annotations"] = {"force-sync": "v-0002"}
    fake = FakeK8sWithPatch(es_obj, secret=k8s_secret(OLD_VALUE))
    fake.patch_custom = lambda *a, **k: pytest.fail("patched again")
    out = run_main(
        monkeypatch,
        fake,
        FakeSecretsManager(version="v-0002"),
        force_sync=True,
        fail_on_error=False,
    )
    assert out.result["state"] == "stale" and out.result["changed"] is False


def test_force_sync_in_check_mode_only_reports(monkeypatch):
    fake = FakeK8sWithPatch(eso_status_es(), secret=k8s_secret(OLD_VALUE))
    out = run_main(
        monkeypatch,
        fake,
        FakeSecretsManager(),
        force_sync=True,
        fail_on_error=False,
        _ansible_check_mode=True,
    )
    assert out.result["state"] == "stale" and out.result["changed"] is False
    assert fake.patches == []


def test_force_sync_leaves_a_current_secret_alone(monkeypatch):
    fake = FakeK8sWithPatch(eso_status_es(), secret=k8s_secret())
    out = run_main(monkeypatch, fake, FakeSecretsManager(), force_sync=True)
    assert out.result["state"] == "ready" and out.result["changed"] is False
    assert fake.patches == []


def test_force_sync_needs_compare_provider(monkeypatch):
    out = run_main(
        monkeypatch,
        FakeK8sWithPatch(eso_status_es(), secret=k8s_secret()),
        FakeSecretsManager(),
        force_sync=True,
        compare_provider=False,
    )
    assert out.failed and "force_sync needs compare_provider" in out.result["msg"]
