# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure logic of the ``external_secret_verify`` module: no Ansible, no network.

An ExternalSecret sync is judged from four inputs: the ExternalSecret object, the store it points
at (or None when it is missing), the Kubernetes Secret it manages (or None) and the current value
of the provider secret. The provider value never leaves this module: it is reduced to the data the
Kubernetes Secret should hold, and only SHA-256 digests of both sides are compared. Nothing
returned here (states, messages) contains a secret value.

Why digests and not version ids: ESO v1 records ``status.syncedResourceVersion`` as
``<metadata.generation>-<hash of labels and annotations>`` of the ExternalSecret itself, not the
provider's version, and nothing in its status names the Secrets Manager VersionId it read. So
"the Secret reflects the current version" is decided by content: the data the current version
yields, hashed, against the Secret's data, hashed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field

READY = "ready"
NOT_READY = "not_ready"
STALE = "stale"
MISSING_SECRET = "missing_secret"  # noqa: S105 - a state name, not a password
MISSING_STORE = "missing_store"
MISSING_EXTERNAL_SECRET = "missing_external_secret"  # noqa: S105 - a state name
STATES = (READY, NOT_READY, STALE, MISSING_SECRET, MISSING_STORE, MISSING_EXTERNAL_SECRET)

STORE_KINDS = ("SecretStore", "ClusterSecretStore")
# ESO reports a store it cannot find in the Ready condition's message, e.g.
# 'could not get ClusterSecretStore "x", ClusterSecretStore.external-secrets.io "x" not found'.
_STORE_MISSING_RE = re.compile(
    r"(Cluster)?SecretStore(\.external-secrets\.io)?\s+\"[^\"]*\"\s+not found", re.IGNORECASE
)
# A template value that only copies one fetched key, e.g. '{{ .document }}'.
_SIMPLE_TEMPLATE_RE = re.compile(r"^\s*\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}\s*$")


class ExternalSecretsError(Exception):
    """The inputs cannot be judged (bad option, unsupported template). Never carries a value."""


@dataclass
class Verdict:
    """Outcome of one check. Safe to return to Ansible: no secret values inside."""

    state: str
    message: str
    reason: str = ""
    secret_keys: list = field(default_factory=list)

    @property
    def ready(self):
        return self.state == READY

    def as_dict(self):
        return {
            "state": self.state,
            "ready": self.ready,
            "message": self.message,
            "reason": self.reason,
            "secret_keys": sorted(self.secret_keys),
        }


def ready_condition(external_secret):
    """Return the Ready condition of an ExternalSecret as a dict ({} when there is none)."""
    for condition in (external_secret.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return {}


def store_ref(external_secret):
    """Return (kind, name) of the store an ExternalSecret reads from."""
    ref = (external_secret.get("spec") or {}).get("secretStoreRef") or {}
    kind = ref.get("kind") or "SecretStore"
    if kind not in STORE_KINDS:
        raise ExternalSecretsError(f"secretStoreRef.kind {kind!r} is not one of {STORE_KINDS}")
    if not ref.get("name"):
        raise ExternalSecretsError("spec.secretStoreRef.name is empty")
    return kind, ref["name"]


def target_name(external_secret):
    """Name of the Kubernetes Secret the ExternalSecret manages (defaults to its own name)."""
    target = (external_secret.get("spec") or {}).get("target") or {}
    return target.get("name") or external_secret["metadata"]["name"]


def generation_synced(external_secret):
    """True when ESO reconciled the current spec: syncedResourceVersion is '<generation>-...'."""
    generation = (external_secret.get("metadata") or {}).get("generation")
    synced = (external_secret.get("status") or {}).get("syncedResourceVersion") or ""
    if generation is None:
        return bool(synced)
    return synced.split("-", 1)[0] == str(generation)


def remote_keys(external_secret):
    """The provider keys (remoteRef.key) the ExternalSecret's spec.data reads, in order, unique."""
    keys = []
    for item in (external_secret.get("spec") or {}).get("data") or []:
        key = (item.get("remoteRef") or {}).get("key")
        if key and key not in keys:
            keys.append(key)
    return keys


def key_map_from_spec(external_secret, secret_id):
    """Infer {Secret key: property} from an ExternalSecret that reads ``secret_id``.

    Property '' means the whole provider value. A target template is understood when each of its
    values only copies one fetched key ('{{ .name }}'); anything else needs an explicit key map.
    """
    spec = external_secret.get("spec") or {}
    fetched = {}
    for item in spec.get("data") or []:
        ref = item.get("remoteRef") or {}
        if ref.get("key") != secret_id:
            continue
        if ref.get("decodingStrategy", "None") not in ("None", None):
            raise ExternalSecretsError(
                f"secretKey {item.get('secretKey')!r} uses decodingStrategy "
                f"{ref['decodingStrategy']!r}; pass the expected keys explicitly"
            )
        fetched[item["secretKey"]] = ref.get("property") or ""
    if not fetched:
        raise ExternalSecretsError(f"spec.data reads nothing from {secret_id!r}")
    template = (spec.get("target") or {}).get("template") or {}
    if template.get("templateFrom"):
        raise ExternalSecretsError("target.template.templateFrom is set; pass the keys explicitly")
    template_data = template.get("data") or {}
    if not template_data:
        return fetched
    mapping = {}
    for secret_key, text in template_data.items():
        match = _SIMPLE_TEMPLATE_RE.match(str(text))
        if not match or match.group(1) not in fetched:
            raise ExternalSecretsError(
                f"template key {secret_key!r} is not a plain copy of a fetched key; "
                "pass the expected keys explicitly"
            )
        mapping[secret_key] = fetched[match.group(1)]
    return mapping


def _walk(document, path):
    """Follow a gjson-style dotted path ('keys.0', 'critical') through parsed JSON."""
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ExternalSecretsError(f"property {path!r} is not in the provider value")
    return node


def extract_property(value, prop):
    """What ESO stores for ``property`` of a provider value ('' = the whole value), as bytes.

    Strings are stored as-is; other JSON values as their compact JSON text (gjson's Raw).
    """
    if not prop:
        return value.encode("utf-8")
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise ExternalSecretsError(f"property {prop!r} asked of a value that is not JSON") from exc
    node = _walk(document, prop)
    if isinstance(node, str):
        return node.encode("utf-8")
    return json.dumps(node, separators=(",", ":")).encode("utf-8")


def expected_data(value, key_map):
    """{Secret key: bytes} the Kubernetes Secret should hold for provider value ``value``."""
    if not key_map:
        raise ExternalSecretsError("the key map is empty")
    return {key: extract_property(value, prop) for key, prop in key_map.items()}


def secret_data(secret):
    """{key: bytes} of a Kubernetes Secret as returned by the API (base64 data, stringData)."""
    out = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(encoded or "", validate=True)
        except ValueError as exc:
            raise ExternalSecretsError(f"key {key!r} of the Secret is not valid base64") from exc
    for key, text in (secret.get("stringData") or {}).items():
        out[key] = str(text).encode("utf-8")
    return out


def digest(data, keys=None):
    """SHA-256 over the given keys of {key: bytes}, length-prefixed so no two inputs collide."""
    sha = hashlib.sha256()
    for key in sorted(keys if keys is not None else data):
        raw = data.get(key)
        for part in (key.encode("utf-8"), b"\x00" if raw is None else b"\x01" + raw):
            sha.update(len(part).to_bytes(8, "big"))
            sha.update(part)
    return sha.hexdigest()


def judge(external_secret, store, secret, provider_value, key_map):
    """Decide the state of one sync. ``store``/``secret`` are None when missing.

    ``provider_value`` is the current provider value (str) or None when it was not fetched; then
    only readiness is judged. Returns a Verdict.
    """
    name = "{}/{}".format(
        external_secret["metadata"].get("namespace", ""), external_secret["metadata"]["name"]
    )
    kind, store_name = store_ref(external_secret)
    condition = ready_condition(external_secret)
    reason = condition.get("reason") or ""
    cond_message = condition.get("message") or ""
    if store is None or _STORE_MISSING_RE.search(cond_message):
        return Verdict(
            MISSING_STORE,
            f"ExternalSecret {name}: {kind} {store_name} does not exist"
            + (f" (condition: {cond_message})" if cond_message else ""),
            reason,
        )
    if condition.get("status") != "True":
        detail = cond_message or "no Ready condition yet"
        return Verdict(NOT_READY, f"ExternalSecret {name} is not Ready: {detail}", reason)
    if not generation_synced(external_secret):
        return Verdict(
            NOT_READY,
            f"ExternalSecret {name} is Ready for an older spec; ESO has not reconciled "
            f"generation {external_secret['metadata'].get('generation')} yet",
            reason,
        )
    target = target_name(external_secret)
    if secret is None:
        return Verdict(
            MISSING_SECRET,
            f"ExternalSecret {name} is Ready but Secret {target} does not exist",
            reason,
        )
    actual = secret_data(secret)
    if provider_value is None:
        return Verdict(READY, f"ExternalSecret {name} is Ready", reason, list(actual))
    expected = expected_data(provider_value, key_map)
    missing = sorted(set(expected) - set(actual))
    if missing:
        return Verdict(
            STALE,
            f"Secret {target} lacks key(s) {', '.join(missing)} that the current provider "
            "version yields",
            reason,
            list(actual),
        )
    if digest(expected) != digest(actual, expected.keys()):
        return Verdict(
            STALE,
            f"Secret {target} does not hold the current provider version "
            f"(SHA-256 of keys {', '.join(sorted(expected))} differs); ESO refreshes every "
            f"{(external_secret.get('spec') or {}).get('refreshInterval', '1h')}",
            reason,
            list(actual),
        )
    return Verdict(
        READY,
        f"ExternalSecret {name} is Ready and Secret {target} holds the current provider version",
        reason,
        list(actual),
    )
