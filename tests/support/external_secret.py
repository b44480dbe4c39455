"""The model-api-keys ExternalSecret as roles/platform_secrets/templates/objects.yml.j2 renders it.

The parts the secret tests read (name, store, target template, the two remote references); the
rendered object also carries creationPolicy/deletionPolicy, the template's type and labels.
"""

from __future__ import annotations

NAME = "model-api-keys"
NAMESPACE = "model-api"
STORE = "aws-secrets-manager"


def model_api_keys(
    secret_id: str,
    *,
    refresh_interval: str = "1h",
    generation: int = 1,
    store_kind: str = "ClusterSecretStore",
    labels: dict | None = None,
) -> dict:
    """The ExternalSecret that syncs the Secrets Manager secret secret_id into model-api-keys."""
    metadata: dict = {"name": NAME, "namespace": NAMESPACE, "generation": generation}
    if labels is not None:
        metadata["labels"] = labels
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata,
        "spec": {
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": store_kind, "name": STORE},
            "target": {
                "name": NAME,
                "template": {
                    "engineVersion": "v2",
                    "data": {"api-keys.json": "{{ .document }}", "smoke-api-key": "{{ .smoke }}"},
                },
            },
            "data": [
                {"secretKey": "document", "remoteRef": {"key": secret_id}},
                {"secretKey": "smoke", "remoteRef": {"key": secret_id, "property": "keys.0"}},
            ],
        },
    }
