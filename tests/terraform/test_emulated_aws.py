"""One apply / plan / destroy cycle of terraform/ against emulated AWS (moto server).

The tests run in file order and share one applied platform; the last one destroys it and checks
that nothing is left. If an earlier test fails, the fixture still destroys at the end.
"""

from __future__ import annotations

import json
import secrets

import pytest

from tests.support.aws import emulated_client

from .conftest import REGION

pytestmark = pytest.mark.slow

VAR_FILE = "-var-file=envs/local.tfvars"
# The inventory owns these (the infra stage passes them); inventories/local's values. The GitHub
# OIDC provider already exists in the account (created below, as another environment or the
# account baseline would have): this environment looks it up and must never delete it.
INVENTORY_VARS = (
    "-var=tls_mode=cert-manager",
    "-var=service_hostname=models.local.example.com",
    "-var=github_oidc_provider=existing",
)
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
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
    existing = _client(aws_emulator, "iam").create_open_id_connect_provider(
        Url=GITHUB_OIDC_URL, ClientIDList=["sts.amazonaws.com"]
    )["OpenIDConnectProviderArn"]

    def tf(*args, check=True):
        return terraform.run(*args, "-no-color", env=env, check=check)

    try:
        tf("apply", "-auto-approve", "-input=false", VAR_FILE, *INVENTORY_VARS)
        yield {
            "tf": tf,
            "endpoint": aws_emulator,
            "workdir": terraform.workdir,
            "state": state,
            "github_oidc_provider_arn": existing,
        }
    finally:
        if not state["destroyed"]:
            tf("destroy", "-auto-approve", "-input=false", VAR_FILE, *INVENTORY_VARS, check=False)


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
    # Issue 14: the pre-existing GitHub OIDC provider is reused, not created again.
    assert platform["github_oidc_provider"] == {
        "arn": emulated["github_oidc_provider_arn"],
        "created": False,
    }
    assert platform["github_deploy_role_arn"].endswith(f":role/{PREFIX}-github-deploy")
    assert platform["github_publish_role_arn"].endswith(f":role/{PREFIX}-github-publish")
    assert platform["ebs_csi_driver_role_arn"].endswith(f":role/{PREFIX}-ebs-csi-driver")


def test_ebs_csi_role_has_the_managed_policy_and_the_key(emulated):
    iam = _client(emulated["endpoint"], "iam")
    role = f"{PREFIX}-ebs-csi-driver"
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    ]
    platform = json.loads(emulated["tf"]("output", "-json", "platform").stdout)
    document = iam.get_role_policy(RoleName=role, PolicyName="platform-key-for-volumes")
    resources = {r for st in document["PolicyDocument"]["Statement"] for r in st["Resource"]}
    assert resources == {platform["kms_key_arn"]}


def test_cluster_role_can_use_the_key_for_secrets(emulated):
    platform = json.loads(emulated["tf"]("output", "-json", "platform").stdout)
    iam = _client(emulated["endpoint"], "iam")
    document = iam.get_role_policy(
        RoleName=f"{PREFIX}-cluster", PolicyName="secrets-envelope-encryption"
    )["PolicyDocument"]
    (statement,) = document["Statement"]
    assert statement["Resource"] == platform["kms_key_arn"]
    assert set(statement["Action"]) == {
        "kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey",
    }  # fmt: skip


def test_key_policy_lets_auto_scaling_use_the_key(emulated):
    # What AWS stored, not what Terraform meant to send.
    platform = json.loads(emulated["tf"]("output", "-json", "platform").stdout)
    kms = _client(emulated["endpoint"], "kms")
    policy = json.loads(
        kms.get_key_policy(KeyId=platform["kms_key_arn"], PolicyName="default")["Policy"]
    )
    asg = (
        f"arn:aws:iam::{platform['account_id']}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )
    sids = {st["Sid"] for st in policy["Statement"] if st["Principal"] == {"AWS": asg}}
    assert sids == {"AutoScalingUsesKeyForNodeVolumes", "AutoScalingAttachesEncryptedNodeVolumes"}


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
    emulated["tf"](
        "apply", "-refresh-only", "-auto-approve", "-input=false", VAR_FILE, *INVENTORY_VARS
    )
    state = (emulated["workdir"] / "terraform.tfstate").read_text()
    for name, value in values.items():
        assert name in state  # the container is managed...
        assert value not in state  # ...its value never is
        for part in json.loads(value).values():
            assert json.dumps(part) not in state


def test_second_plan_reports_no_changes(emulated):
    # Runs after secret values were set: neither the emulator nor a value may cause a diff.
    proc = emulated["tf"](
        "plan", "-detailed-exitcode", "-input=false", VAR_FILE, *INVENTORY_VARS, check=False
    )
    assert proc.returncode == 0, f"plan after apply is not empty:\n{proc.stdout[-6000:]}"


def test_destroy_leaves_nothing(emulated):
    emulated["tf"]("destroy", "-auto-approve", "-input=false", VAR_FILE, *INVENTORY_VARS)
    emulated["state"]["destroyed"] = True
    endpoint = emulated["endpoint"]
    ec2 = _client(endpoint, "ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"]
    assert vpcs == []
    assert _client(endpoint, "eks").list_clusters()["clusters"] == []
    iam = _client(endpoint, "iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)]
    assert roles == []
    # The cluster's IRSA provider is gone; the account's GitHub provider, which this environment
    # only looked up, survives.
    providers = [
        p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    ]
    assert providers == [emulated["github_oidc_provider_arn"]]
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
