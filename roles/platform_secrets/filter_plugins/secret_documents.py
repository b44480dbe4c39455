# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The secret documents of the platform_secrets role, kept out of Jinja so they can be unit
tested (tests/unit/test_secret_documents.py). No client code: tasks/values.yml reads the current
values from Secrets Manager and writes what these filters decide. The shapes are the documented
ones (docs/secrets-and-tls.md "Values", ADR 0006):

- api keys:       {"keys": ["...", ...]}, read whole by the model API (api-keys.json) and, first
                  key, by the fallback analysis (smoke-api-key);
- slack webhooks: {"<channel>": "<url>", ...}, one property per channel: the alert channels are
                  the Alertmanager Secret's keys, the deployments channel the Argo Rollouts
                  notification Secret's slack-webhook-url.

- platform_secrets_documents: the desired document of each secret;
- platform_secrets_changed:   which secrets hold a different value (compared as parsed JSON).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

# The alphabet of the keys this role generates: the one tasks/values.yml used with
# ansible.builtin.password (chars=['ascii_letters', 'digits']).
KEY_ALPHABET = string.ascii_letters + string.digits


def _parsed(raw):
    """The JSON object or array a stored value holds, else None (absent, not JSON, a scalar)."""
    if not isinstance(raw, str) or not raw.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def current_keys(raw, min_key_length):
    """The usable keys of a stored api-keys document: strings of at least min_key_length."""
    document = _parsed(raw)
    if not isinstance(document, Mapping):
        return []
    keys = document.get("keys")
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        return []
    return [key for key in keys if isinstance(key, str) and len(key) >= int(min_key_length)]


def generate_keys(count, length):
    return [
        "".join(secrets.choice(KEY_ALPHABET) for _ in range(int(length))) for _ in range(int(count))
    ]


def api_keys_document(current_raw, given_keys, min_key_length, key_count, key_length):
    """{"keys": [...]}: the given keys; else the stored usable keys (generated keys are kept);
    else key_count new random keys of key_length letters and digits."""
    keys = [str(key) for key in given_keys or []]
    if not keys:
        keys = current_keys(current_raw, min_key_length)
    if not keys:
        keys = generate_keys(key_count, key_length)
    return {"keys": keys}


def webhooks_document(given_webhooks, placeholder_url):
    """{"<channel>": url}: every channel given, a missing URL as the placeholder <url>/<channel>."""
    if not isinstance(given_webhooks, Mapping):
        raise AnsibleFilterError("the given webhooks must be a mapping of channel to URL")
    return {
        str(channel): str(url or f"{placeholder_url}/{channel}")
        for channel, url in given_webhooks.items()
    }


def documents(
    current,
    api_keys_secret,
    webhooks_secret,
    given_keys,
    given_webhooks,
    min_key_length,
    key_count,
    key_length,
    placeholder_url,
):
    """The desired document of the two secrets, by Secrets Manager name.

    current: {name: stored SecretString} as amazon.aws.aws_secret bypath returns it."""
    current = current or {}
    return {
        api_keys_secret: api_keys_document(
            current.get(api_keys_secret), given_keys, min_key_length, key_count, key_length
        ),
        webhooks_secret: webhooks_document(given_webhooks, placeholder_url),
    }


def changed(desired, current):
    """The names whose stored value is not the desired document (parsed JSON compared, so key
    order and whitespace of what Terraform or a person stored do not matter)."""
    current = current or {}
    return [name for name, document in desired.items() if _parsed(current.get(name)) != document]


class FilterModule:
    def filters(self):
        return {
            "platform_secrets_documents": documents,
            "platform_secrets_changed": changed,
        }
