"""What the secrets stage renders validates, and every name it references is one the platform
creates: ClusterSecretStores (external_secrets role and this stage), ClusterIssuers (cert_manager),
and the Secret names and keys its consumers read (monitoring, argo_rollouts, model_api; see
CONTRIBUTING.md). A role that does not exist yet is skipped with its name in the reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

PLAY = """
- name: Render {roles} for the wiring test
  hosts: localhost
  gather_facts: false
  vars_files: [{fixture}]
  vars:
    platform_secrets_manage_values: false
    platform_tls_mode: cert-manager
  roles: {roles}
"""


def render(repo_root, tool_env, tmp_path, roles):
    """Render roles with the Molecule inventory and fixture; return (rc, output, render dir)."""
    play = tmp_path / f"render-{'-'.join(roles)}.yml"
    play.write_text(
        PLAY.format(
            roles=["platform_defaults", *roles],
            fixture=repo_root / "molecule" / "shared" / "platform_infra.yml",
        )
    )
    env = dict(tool_env, MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_CONFIG"] = str(repo_root / "ansible.cfg")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(repo_root / "molecule/shared/inventory.yml"), str(play)],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr, tmp_path / "build"


def load(folder: Path):
    objects = []
    for path in sorted(folder.glob("*/manifests/*.yaml")):
        objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return objects


@pytest.fixture(scope="module")
def rendered(repo_root, tool_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("secrets-wiring")
    rc, out, build = render(repo_root, tool_env, tmp, ["platform_secrets"])
    assert rc == 0, out[-3000:]
    return build, load(build)


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def role_text(repo_root, role):
    """Text of a role's defaults, vars, tasks and templates; skip when the role is missing."""
    folder = repo_root / "roles" / role
    if not folder.is_dir():
        pytest.skip(f"role {role} does not exist yet")
    parts = []
    for sub in ("defaults", "vars", "tasks", "templates", "files"):
        parts.extend(p.read_text() for p in sorted((folder / sub).rglob("*")) if p.is_file())
    return "\n".join(parts)


def shared_name_variables(repo_root, value):
    """The platform_defaults variables (roles/platform_defaults: names that cross roles) whose
    value is this name: a role that defaults to one of them references the name."""
    defaults = yaml.safe_load((repo_root / "roles/platform_defaults/defaults/main.yml").read_text())
    return [k for k, v in defaults.items() if v == value]


def references(text, repo_root, name):
    return name in text or any(v in text for v in shared_name_variables(repo_root, name))


def test_rendered_objects_validate(rendered, repo_root, tool_env):
    build, objects = rendered
    kinds = {o["kind"] for o in objects}
    assert {"ExternalSecret", "PushSecret", "Certificate", "ClusterSecretStore"} <= kinds
    proc = subprocess.run(
        [
            str(repo_root / ".venv/bin/python"),
            str(repo_root / "bin/validate-manifests"),
            str(build / "platform-secrets" / "manifests"),
        ],
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_external_secrets_read_the_external_secrets_roles_store(rendered, repo_root):
    _, objects = rendered
    text = role_text(repo_root, "external_secrets")
    refs = {o["spec"]["secretStoreRef"]["name"] for o in by_kind(objects, "ExternalSecret")}
    assert refs == {"aws-secrets-manager"}
    assert "ClusterSecretStore" in text
    for name in refs:
        assert references(text, repo_root, name), (
            f"the external_secrets role does not create ClusterSecretStore {name}"
        )


def test_push_secret_uses_a_store_this_stage_creates(rendered):
    _, objects = rendered
    own = {o["metadata"]["name"] for o in by_kind(objects, "ClusterSecretStore")}
    for push in by_kind(objects, "PushSecret"):
        for ref in push["spec"]["secretStoreRefs"]:
            assert ref["kind"] == "ClusterSecretStore" and ref["name"] in own
        cert_secrets = {c["spec"]["secretName"] for c in by_kind(objects, "Certificate")}
        assert push["spec"]["selector"]["secret"]["name"] in cert_secrets


def test_certificate_issuer_is_a_cert_manager_cluster_issuer(rendered, repo_root):
    _, objects = rendered
    text = role_text(repo_root, "cert_manager")
    assert "ClusterIssuer" in text
    for cert in by_kind(objects, "Certificate"):
        assert cert["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
        assert cert["spec"]["issuerRef"]["name"] in text


@pytest.mark.parametrize(
    ("role", "secret", "keys"),
    [
        ("monitoring", "alertmanager-slack-webhooks", ["critical", "warning"]),
        ("argo_rollouts", "argo-rollouts-notification-secret", ["slack-webhook-url"]),
        ("model_api", "model-api-keys", ["api-keys.json", "smoke-api-key"]),
    ],
)
def test_consumers_read_the_synced_secret(rendered, repo_root, role, secret, keys):
    _, objects = rendered
    external = {o["spec"]["target"]["name"]: o for o in by_kind(objects, "ExternalSecret")}
    assert secret in external
    spec = external[secret]["spec"]
    produced = set((spec["target"].get("template") or {}).get("data") or {}) or {
        d["secretKey"] for d in spec["data"]
    }
    assert produced == set(keys)
    text = role_text(repo_root, role)
    assert references(text, repo_root, secret), f"role {role} does not reference Secret {secret}"
    for key in keys:
        assert key in text, f"role {role} does not read key {key} of Secret {secret}"


def test_service_ingress_terminates_tls_for_the_certificate_host(
    rendered, repo_root, tool_env, tmp_path
):
    _, objects = rendered
    if not (repo_root / "roles" / "model_api").is_dir():
        pytest.skip("role model_api does not exist yet")
    rc, out, build = render(repo_root, tool_env, tmp_path, ["model_api"])
    if rc != 0:
        pytest.skip(f"role model_api does not render with the Molecule fixture yet: {out[-400:]}")
    ingresses = by_kind(load(build), "Ingress")
    if not ingresses:
        pytest.skip("role model_api renders no Ingress yet")
    hosts = {h for c in by_kind(objects, "Certificate") for h in c["spec"]["dnsNames"]}
    for ingress in ingresses:
        annotations = ingress["metadata"].get("annotations") or {}
        tls_hosts = {h for t in ingress["spec"].get("tls") or [] for h in t.get("hosts") or []}
        assert tls_hosts and tls_hosts == hosts, "Ingress TLS host and certificate dnsNames differ"
        assert annotations.get("alb.ingress.kubernetes.io/ssl-redirect") == "443"
        assert str(annotations.get("alb.ingress.kubernetes.io/ssl-policy", "")).startswith(
            "ELBSecurityPolicy-TLS13-"
        )
        # The controller discovers the ACM certificate by the TLS host in both TLS modes.
        assert "alb.ingress.kubernetes.io/certificate-arn" not in annotations
