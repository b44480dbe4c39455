"""The secrets stage against emulated AWS (moto): check mode, real run, repeat, rotation.

The two Secrets Manager containers are created the way Terraform creates them (name, description,
KMS key, tags, no value); the playbook runs with the local inventory, platform_infra pointing at
them, and platform_k8s_mode render into a temporary folder. No secret value may appear in the
playbook's output, also with -v.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.support.aws import emulated_client, load_emulator

pytestmark = pytest.mark.slow

boto3 = pytest.importorskip("boto3")

REGION = "eu-west-1"
KEYS = ["svc-key-" + "a" * 40, "svc-key-" + "b" * 40]
HOOKS = {
    "critical": "https://hooks.slack.com/services/T000/B001/critical0secret0value",
    "warning": "https://hooks.slack.com/services/T000/B002/warning0secret0value",
    "deployments": "https://hooks.slack.com/services/T000/B003/deploys0secret0value",
}
ROTATED_WARNING = "https://hooks.slack.com/services/T000/B004/rotated0secret0value"
VALUE_ENV = (
    "MODEL_API_KEYS",
    "SLACK_WEBHOOK_CRITICAL",
    "SLACK_WEBHOOK_WARNING",
    "SLACK_WEBHOOK_DEPLOYMENTS",
)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, repo_root):
    aws_emulator = load_emulator()
    state = tmp_path_factory.mktemp("aws")
    endpoint = aws_emulator.start(state)["endpoint"]
    yield endpoint
    aws_emulator.stop(state)


def aws(endpoint, service):
    return emulated_client(endpoint, service, REGION)


def terraform_containers(endpoint, environment):
    """Create the two containers like terraform/modules/secrets; return platform_infra."""
    kms_arn = aws(endpoint, "kms").create_key()["KeyMetadata"]["Arn"]
    sm = aws(endpoint, "secretsmanager")
    secrets = {}
    for key, path in (
        ("service_api_keys", "service/api-keys"),
        ("slack_webhooks", "alerting/slack-webhooks"),
    ):
        name = f"ml-platform/{environment}/{path}"
        arn = sm.create_secret(
            Name=name,
            Description=f"{path}; value set by Ansible.",
            KmsKeyId=kms_arn,
            Tags=[{"Key": "Project", "Value": "ml-platform"}],
        )["ARN"]
        secrets[key] = {"arn": arn, "name": name}
    return {
        "name": "ml-platform",
        "environment": environment,
        "region": REGION,
        "account_id": "123456789012",
        "secrets": secrets,
        "acm_certificate_arn": None,
        "secrets_prefix": f"ml-platform/{environment}/",
        "kms_key_arn": kms_arn,
    }


def versions(endpoint, name):
    listed = aws(endpoint, "secretsmanager").list_secret_version_ids(SecretId=name)["Versions"]
    return sorted(v["VersionId"] for v in listed)


def value(endpoint, name):
    return json.loads(
        aws(endpoint, "secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    )


def run_stage(repo_root, tool_env, tmp_path, endpoint, infra, env_values, *args):
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            {
                "platform_infra": infra,
                "platform_aws_endpoint_url": endpoint,
                "platform_render_dir": str(tmp_path / "render"),
                "platform_tls_mode": "cert-manager",
                "platform_service_host": "models.example.com",
            }
        )
    )
    env = {k: v for k, v in tool_env.items() if k not in VALUE_ENV}
    env.update(env_values)
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(
        ["ansible-playbook", "playbooks/secrets.yml", "-e", f"@{extra}", *args],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+).*failed=(\d+)", output)
    return proc.returncode, output, (int(recap.group(2)) if recap else None)


def assert_no_secret(output, *values):
    for secret in values:
        assert secret not in output, "a secret value leaked into the playbook output"


def given_env(hooks=HOOKS):
    return {
        "MODEL_API_KEYS": ",".join(KEYS),
        **{f"SLACK_WEBHOOK_{k.upper()}": v for k, v in hooks.items()},
    }


def test_check_run_repeat_rotate(emulator, repo_root, tool_env, tmp_path):
    infra = terraform_containers(emulator, "itest")
    keys_name = infra["secrets"]["service_api_keys"]["name"]
    hooks_name = infra["secrets"]["slack_webhooks"]["name"]
    sm = aws(emulator, "secretsmanager")
    before = {n: sm.describe_secret(SecretId=n) for n in (keys_name, hooks_name)}
    sensitive = [*KEYS, *HOOKS.values(), ROTATED_WARNING]

    # 1. Check mode: reports the change, writes nothing.
    rc, out, changed = run_stage(
        repo_root, tool_env, tmp_path, emulator, infra, given_env(), "--check"
    )
    assert rc == 0, out[-3000:]
    assert changed and changed > 0
    assert versions(emulator, keys_name) == [] and versions(emulator, hooks_name) == []
    assert_no_secret(out, *sensitive)

    # 2. Real run: the values are set, Terraform's attributes untouched.
    rc, out, changed = run_stage(repo_root, tool_env, tmp_path, emulator, infra, given_env())
    assert rc == 0, out[-3000:]
    assert value(emulator, keys_name) == {"keys": KEYS}
    assert value(emulator, hooks_name) == HOOKS
    first = {n: versions(emulator, n) for n in (keys_name, hooks_name)}
    assert all(len(v) == 1 for v in first.values())
    for name, old in before.items():
        now = sm.describe_secret(SecretId=name)
        assert now["Description"] == old["Description"]
        assert now["KmsKeyId"] == old["KmsKeyId"]
        assert now["Tags"] == old["Tags"]
    assert_no_secret(out, *sensitive)
    rendered = tmp_path / "render" / "platform-secrets" / "manifests"
    assert sorted(p.name for p in rendered.glob("*.yaml"))

    # 3. Repeat (also verbose): nothing changes, no new version.
    rc, out, changed = run_stage(repo_root, tool_env, tmp_path, emulator, infra, given_env(), "-v")
    assert rc == 0, out[-3000:]
    assert changed == 0, out[-3000:]
    assert {n: versions(emulator, n) for n in first} == first
    assert_no_secret(out, *sensitive)

    # 4. Rotate one webhook: exactly one new version, of that secret only.
    rotated = dict(HOOKS, warning=ROTATED_WARNING)
    rc, out, changed = run_stage(
        repo_root, tool_env, tmp_path, emulator, infra, given_env(rotated), "-v"
    )
    assert rc == 0, out[-3000:]
    assert changed == 1, out[-3000:]
    assert versions(emulator, keys_name) == first[keys_name]
    new_versions = versions(emulator, hooks_name)
    assert len(new_versions) == 2 and set(first[hooks_name]) < set(new_versions)
    assert value(emulator, hooks_name)["warning"] == ROTATED_WARNING
    assert_no_secret(out, *sensitive)


def test_local_inventory_generates_keys_once(emulator, repo_root, tool_env, tmp_path):
    infra = terraform_containers(emulator, "gen")
    keys_name = infra["secrets"]["service_api_keys"]["name"]
    hooks_name = infra["secrets"]["slack_webhooks"]["name"]
    rc, out, _ = run_stage(repo_root, tool_env, tmp_path, emulator, infra, {})
    assert rc == 0, out[-3000:]
    generated = value(emulator, keys_name)["keys"]
    assert len(generated) == 2 and all(len(k) >= 32 for k in generated)
    assert len(set(generated)) == 2
    hooks = value(emulator, hooks_name)
    assert set(hooks) == {"critical", "warning", "deployments"}
    assert all(url.startswith("http://") for url in hooks.values())
    assert_no_secret(out, *generated)

    first = versions(emulator, keys_name)
    rc, out, changed = run_stage(repo_root, tool_env, tmp_path, emulator, infra, {}, "-v")
    assert rc == 0 and changed == 0, out[-3000:]
    assert value(emulator, keys_name)["keys"] == generated
    assert versions(emulator, keys_name) == first
    assert_no_secret(out, *generated)


def test_real_inventory_fails_early_naming_missing_values(emulator, repo_root, tool_env, tmp_path):
    infra = terraform_containers(emulator, "real")
    keys_name = infra["secrets"]["service_api_keys"]["name"]
    infra["acm_certificate_arn"] = None
    rc, out, _ = run_stage(
        repo_root, tool_env, tmp_path, emulator, infra, {}, "-e", "platform_aws_emulated=false"
    )
    assert rc != 0
    for name in (
        "MODEL_API_KEYS",
        "SLACK_WEBHOOK_CRITICAL",
        "SLACK_WEBHOOK_WARNING",
        "SLACK_WEBHOOK_DEPLOYMENTS",
    ):
        assert name in out
    assert versions(emulator, keys_name) == []
    assert not (tmp_path / "render" / "platform-secrets").exists()


def test_invalid_values_are_named_never_printed(emulator, repo_root, tool_env, tmp_path):
    infra = terraform_containers(emulator, "bad")
    short_key = "short0secret0key"
    not_slack = "https://example.com/hook0secret0value"
    env = given_env()
    env["MODEL_API_KEYS"] = f"{KEYS[0]},{short_key}"
    env["SLACK_WEBHOOK_WARNING"] = not_slack
    rc, out, _ = run_stage(
        repo_root,
        tool_env,
        tmp_path,
        emulator,
        infra,
        env,
        "-e",
        "platform_aws_emulated=false",
        "-v",
    )
    assert rc != 0
    assert "API key #2 is shorter than 32 characters" in out
    assert "Slack webhook URL for warning" in out and "hooks.slack.com" in out
    assert_no_secret(out, short_key, not_slack, *KEYS, *HOOKS.values())
