"""The secret documents of platform_secrets (roles/platform_secrets/filter_plugins/
secret_documents.py), on the documented shapes (docs/secrets-and-tls.md "Values", ADR 0006):

- `<name>/<env>/service/api-keys` is exactly {"keys": [...]}: the model API reads the whole
  document as api-keys.json, the fallback analysis the first key (smoke-api-key, property keys.0);
- `<name>/<env>/alerting/slack-webhooks` has one property per channel: the Alertmanager Secret's
  keys (critical, warning) and the Argo Rollouts notification Secret's slack-webhook-url
  (property deployments), as templates/objects.yml.j2 maps them;
- only a value that differs as parsed JSON gets a new version (the local inventory's generated
  keys are kept: "generated once and kept").
"""

from __future__ import annotations

import importlib.util
import json
import string

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from tests.support import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "secret_documents", REPO_ROOT / "roles/platform_secrets/filter_plugins/secret_documents.py"
)
sd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sd)

API = "ml-platform/dev/service/api-keys"
HOOKS = "ml-platform/dev/alerting/slack-webhooks"
DEFAULTS = yaml.safe_load(
    (REPO_ROOT / "roles/platform_secrets/defaults/main.yml").read_text(encoding="utf-8")
)
PLACEHOLDER = DEFAULTS["platform_secrets_placeholder_webhook_url"]
KEY_A = "a" * 40
KEY_B = "B1" * 20
HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"


def documents(current=None, keys=(), hooks=None):
    return sd.documents(
        current or {},
        api_keys_secret=API,
        webhooks_secret=HOOKS,
        given_keys=list(keys),
        given_webhooks=hooks if hooks is not None else {"critical": HOOK},
        min_key_length=DEFAULTS["platform_secrets_min_key_length"],
        key_count=DEFAULTS["platform_secrets_generated_key_count"],
        key_length=DEFAULTS["platform_secrets_generated_key_length"],
        placeholder_url=PLACEHOLDER,
    )


def test_filters_are_registered_under_the_names_the_tasks_use() -> None:
    filters = sd.FilterModule().filters()
    tasks = (REPO_ROOT / "roles/platform_secrets/tasks/values.yml").read_text(encoding="utf-8")
    for name in filters:
        assert f"| {name}(" in tasks


def test_api_keys_document_is_exactly_keys() -> None:
    document = documents(keys=[KEY_A, KEY_B])[API]
    assert json.loads(json.dumps(document)) == {"keys": [KEY_A, KEY_B]}
    assert list(document) == ["keys"]


def test_given_keys_replace_the_stored_ones() -> None:
    stored = {API: json.dumps({"keys": [KEY_B]})}
    assert documents(stored, keys=[KEY_A])[API] == {"keys": [KEY_A]}


def test_stored_keys_are_kept_when_none_are_given() -> None:
    stored = {API: ' {"keys": ["' + KEY_A + '", "short", 7, "' + KEY_B + '"], "other": 1}'}
    # the short and the non-string entries are dropped (keys >= platform_secrets_min_key_length)
    assert documents(stored)[API] == {"keys": [KEY_A, KEY_B]}


@pytest.mark.parametrize(
    "stored",
    [
        None,  # the container has no value yet (aws_secret on_missing=skip)
        "",
        "not json",
        "{not json",
        json.dumps(KEY_A),  # a JSON string
        json.dumps([KEY_A]),  # a list, not {"keys": ...}
        json.dumps({"keys": KEY_A}),  # keys as a string, not a list
        json.dumps({"keys": ["short"]}),
        json.dumps({"api_keys": [KEY_A]}),
    ],
)
def test_keys_are_generated_when_nothing_usable_is_stored(stored: str | None) -> None:
    current = {} if stored is None else {API: stored}
    keys = documents(current)[API]["keys"]
    assert len(keys) == DEFAULTS["platform_secrets_generated_key_count"]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert len(key) == DEFAULTS["platform_secrets_generated_key_length"]
        assert set(key) <= set(string.ascii_letters + string.digits)
        assert len(key) >= DEFAULTS["platform_secrets_min_key_length"]


def test_generated_keys_are_kept_on_the_next_run() -> None:
    first = documents()
    stored = {API: json.dumps(first[API]), HOOKS: json.dumps(first[HOOKS])}
    second = documents(stored)
    assert second == first
    assert sd.changed(second, stored) == []


def test_webhooks_document_has_one_property_per_channel_the_secrets_read() -> None:
    platform = yaml.safe_load(
        (REPO_ROOT / "roles/platform_defaults/defaults/main.yml").read_text(encoding="utf-8")
    )
    channels = platform["platform_slack_alert_channels"] + [
        platform["platform_slack_deployments_channel"]
    ]
    assert channels == ["critical", "warning", "deployments"]  # docs/secrets-and-tls.md
    given = {"critical": HOOK, "warning": "", "deployments": None}
    document = documents(hooks={channel: given[channel] for channel in channels})[HOOKS]
    assert document == {
        "critical": HOOK,
        "warning": "http://127.0.0.1:9/slack/warning",
        "deployments": "http://127.0.0.1:9/slack/deployments",
    }
    # Alertmanager's Secret reads the alert channels, Argo Rollouts' slack-webhook-url reads the
    # deployments channel (templates/objects.yml.j2): every property they read is there.
    template = (REPO_ROOT / "roles/platform_secrets/templates/objects.yml.j2").read_text(
        encoding="utf-8"
    )
    assert "property: {{ channel }}" in template
    assert "property: {{ platform_slack_deployments_channel | to_json }}" in template
    assert set(channels) <= set(document)


def test_webhooks_must_be_a_mapping() -> None:
    with pytest.raises(AnsibleFilterError, match="mapping of channel to URL"):
        documents(hooks=["critical"])


def test_changed_compares_parsed_json() -> None:
    desired = documents(keys=[KEY_A], hooks={"critical": HOOK, "deployments": HOOK})
    same = {
        API: '{ "keys" : ["' + KEY_A + '"] }',  # other whitespace
        HOOKS: json.dumps({"deployments": HOOK, "critical": HOOK}),  # other key order
    }
    assert sd.changed(desired, same) == []
    assert sd.changed(desired, {**same, API: json.dumps({"keys": [KEY_B]})}) == [API]
    assert sd.changed(desired, {**same, HOOKS: json.dumps({"critical": HOOK})}) == [HOOKS]
    assert sd.changed(desired, {API: "not json", HOOKS: '"x"'}) == [API, HOOKS]
    assert sd.changed(desired, {}) == [API, HOOKS]
