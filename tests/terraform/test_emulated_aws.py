"""One apply / plan / destroy cycle of terraform/ against emulated AWS (moto server).

The tests run in file order and share one applied platform; the last one destroys it and checks
that nothing is left. If an earlier test fails, the fixture still destroys at the end.
"""

from __future__ import annotations

import json
import secrets

import pytest
from platform_test_support import emulated_client

from .conftest import REGION

pytestmark = pytest.mark.slow

VAR_FILE = "-var-file=envs/local.tfvars"
PREFIX = "ml-platform-local"
CONTRACT_KEYS = {
    "name", "environment", "region", "account_id", "vpc_id", "private_subnet_ids",
    "public_subnet_ids", "cluster", "addon_role_arns", "ecr_repository_url", "kms_key_arn",
    "secrets", "github_deploy_role_arn", "acm_certificate_arn", "route53_zone_ids",
    "secrets_prefix",
}  # fmt: skip


def _client(endpoint, service):
    return emulated_client(endpoint, service, REGION)


@pytest.fixture(scope="module")
def emulated(terraform, aws_emulator):
    """The platform applied to the emulator; destroyed at the end in any case."""
    env = {"TF_VAR_aws_endpoint_url": aws_emulator}
    state = {"destroyed": False}

    def tf(*args, check=True):
        return terraform.run(*args, "-no-color", env=env, check=check)

    try:
        tf("apply", "-auto-approve", "-input=false", VAR_FILE)
        yield {"tf": tf, "endpoint": aws_emulator, "workdir": terraform.workdir, "state": state}
    finally:
        if not state["destroyed"]:
            tf("destroy", "-auto-approve", "-input=false", VAR_FILE, check=False)


def test_output_platform_has_the_contract_shape(emulated):
    platform = json.loads(emulated["tf"]("output", "-json", "platform").stdout)
    assert CONTRACT_KEYS <= set(platform)
    assert set(platform["cluster"]) >= {
        "name", "endpoint", "certificate_authority_data", "oidc_issuer_url",
        "oidc_provider_arn", "version",
    }  # fmt: skip
    assert set(platform["addon_role_arns"]) == {
        "aws_load_balancer_controller", "cluster_autoscaler", "external_secrets", "cert_manager",
    }  # fmt: skip
    assert all(arn.startswith("arn:aws:iam::") for arn in platform["addon_role_arns"].values())
    assert platform["secrets"]["service_api_keys"]["name"] == "ml-platform/local/service/api-keys"
    assert (
        platform["secrets"]["slack_webhooks"]["name"] == "ml-platform/local/alerting/slack-webhooks"
    )
    assert platform["secrets_prefix"] == "ml-platform/local/"
    assert platform["region"] == REGION
    assert len(platform["private_subnet_ids"]) == 3
    assert platform["acm_certificate_arn"] is None


def test_irsa_trust_is_bound_to_one_service_account(emulated):
    iam = _client(emulated["endpoint"], "iam")
    role = iam.get_role(RoleName=f"{PREFIX}-external-secrets")["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"]
    assert len(statement) == 1
    equals = statement[0]["Condition"]["StringEquals"]
    subs = [v for k, v in equals.items() if k.endswith(":sub")]
    auds = [v for k, v in equals.items() if k.endswith(":aud")]
    assert subs == ["system:serviceaccount:external-secrets:external-secrets"]
    assert auds == ["sts.amazonaws.com"]


def test_secret_values_never_reach_the_state(emulated):
    sm = _client(emulated["endpoint"], "secretsmanager")
    values = {
        "ml-platform/local/service/api-keys": json.dumps({"keys": [secrets.token_hex(16)]}),
        "ml-platform/local/alerting/slack-webhooks": json.dumps(
            {"critical": f"https://hooks.slack.com/services/{secrets.token_hex(12)}"}
        ),
    }
    for name, value in values.items():
        sm.put_secret_value(SecretId=name, SecretString=value)
    # Refresh reads every managed object again and writes the state.
    emulated["tf"]("apply", "-refresh-only", "-auto-approve", "-input=false", VAR_FILE)
    state = (emulated["workdir"] / "terraform.tfstate").read_text()
    for name, value in values.items():
        assert name in state  # the container is managed...
        assert value not in state  # ...its value never is
        for part in json.loads(value).values():
            assert json.dumps(part) not in state


def test_second_plan_reports_no_changes(emulated):
    # Runs after secret values were set: neither the emulator nor a value may cause a diff.
    proc = emulated["tf"]("plan", "-detailed-exitcode", "-input=false", VAR_FILE, check=False)
    assert proc.returncode == 0, f"plan after apply is not empty:\n{proc.stdout[-6000:]}"


def test_destroy_leaves_nothing(emulated):
    emulated["tf"]("destroy", "-auto-approve", "-input=false", VAR_FILE)
    emulated["state"]["destroyed"] = True
    endpoint = emulated["endpoint"]
    ec2 = _client(endpoint, "ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"]
    assert vpcs == []
    assert _client(endpoint, "eks").list_clusters()["clusters"] == []
    iam = _client(endpoint, "iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)]
    assert roles == []
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    policies = iam.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in policies if p["PolicyName"].startswith(PREFIX)] == []
    assert _client(endpoint, "ecr").describe_repositories()["repositories"] == []
    assert _client(endpoint, "secretsmanager").list_secrets()["SecretList"] == []
    kms = _client(endpoint, "kms")
    live_keys = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
    ]
    assert live_keys == []
    logs = _client(endpoint, "logs")
    assert logs.describe_log_groups()["logGroups"] == []
