"""Preflight (playbooks/preflight.yml): one owner per setting (issue 14).

The inventory owns name, environment, region, Kubernetes version, TLS mode and host; the infra
stage passes them to Terraform. A Terraform var file that sets one of them to another value fails
preflight, naming both values. Runs the real playbook against the local (emulated) inventory.
"""

from __future__ import annotations

import os

import pytest
import yaml

from tests.support.aws import emulated_client
from tests.support.playbook import run_playbook

from .conftest import REPO

pytestmark = pytest.mark.slow


def _preflight(terraform_dir, var_file):
    return run_playbook(
        [
            "-i",
            "inventories/local",
            "playbooks/preflight.yml",
            "-e",
            f"platform_terraform_dir={terraform_dir}",
            "-e",
            f"platform_terraform_var_file={var_file}",
        ],
        os.environ,
        timeout=300,
        ANSIBLE_NOCOLOR="1",
    )


def test_var_file_that_disagrees_with_the_inventory_fails_naming_both_values(tmp_path):
    # The aws-dev disagreement the issue found: environment and host set in both places.
    (tmp_path / "env.tfvars").write_text(
        'name             = "ml-platform"\n'  # agrees: not reported
        'environment      = "aws-dev"\n'
        'service_hostname = "model-api.dev.example.com"\n'
    )
    proc = _preflight(tmp_path, "env.tfvars")
    output = " ".join(proc.stdout.split())
    assert proc.returncode != 0
    assert "Preflight found 2 problem(s)" in output
    assert 'platform_environment is "local" but env.tfvars sets environment = "aws-dev"' in output
    assert (
        'platform_service_host is "models.local.example.com" but env.tfvars sets '
        'service_hostname = "model-api.dev.example.com"' in output
    )


def test_shipped_var_files_leave_the_inventory_settings_alone():
    for var_file in sorted((REPO / "terraform" / "envs").glob("*.tfvars")):
        text = var_file.read_text()
        for setting in ("name", "environment", "region", "kubernetes_version", "tls_mode",
                        "service_hostname"):  # fmt: skip
            assert not any(
                line.split("=")[0].strip() == setting for line in text.splitlines() if "=" in line
            ), f"{var_file.name} sets {setting}: the inventory owns it"


def test_local_inventory_passes(tmp_path):
    proc = _preflight(REPO / "terraform", "envs/local.tfvars")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "owns this setting" not in proc.stdout


def test_infra_stage_passes_the_inventory_settings_last():
    # Terraform takes the last value given for a variable (-var-file order); community.general.
    # terraform passes variables_files in list order after every -var. The inventory's generated
    # file must come last so it wins over the environment's var file.
    play = yaml.safe_load((REPO / "playbooks" / "infra.yml").read_text())[0]
    task = next(t for t in play["tasks"] if "community.general.terraform" in t)
    files = task["community.general.terraform"]["variables_files"]
    assert files[-1].endswith("/inventory.tfvars.json")
    assert "variables" not in task["community.general.terraform"] or "platform_name" not in str(
        task["community.general.terraform"]["variables"]
    )
    root = (REPO / "playbooks" / "tasks" / "terraform_root.yml").read_text()
    for setting in ("name", "environment", "region", "kubernetes_version", "tls_mode",
                    "service_hostname"):  # fmt: skip
        assert f"\n      {setting}: " in root, setting


@pytest.mark.parametrize(
    ("var_file_text", "role_exists", "reported"),
    [
        ("", False, True),  # new account, nobody creates it: KMS would refuse the key policy
        ("create_autoscaling_service_linked_role = true\n", False, False),
        ("", True, False),
    ],
    ids=["missing", "created-by-this-environment", "exists"],
)
def test_missing_autoscaling_service_linked_role_is_reported(
    tmp_path, aws_emulator, var_file_text, role_exists, reported
):
    # Real-AWS branch of preflight (platform_aws_emulated=false), with botocore sent to moto
    # through AWS_ENDPOINT_URL: aws_caller_info and iam_role_info answer as IAM would.
    iam = emulated_client(aws_emulator, "iam")
    existing = [r["RoleName"] for r in iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]]
    if role_exists and "AWSServiceRoleForAutoScaling" not in existing:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    if not role_exists and "AWSServiceRoleForAutoScaling" in existing:
        iam.delete_service_linked_role(RoleName="AWSServiceRoleForAutoScaling")
    (tmp_path / "env.tfvars").write_text(var_file_text)
    proc = run_playbook(
        [
            "-i",
            "inventories/local",
            "playbooks/preflight.yml",
            "-e",
            '{"platform_aws_emulated": false}',
            "-e",
            f"platform_terraform_dir={tmp_path}",
            "-e",
            "platform_terraform_var_file=env.tfvars",
        ],
        os.environ,
        timeout=300,
        ANSIBLE_NOCOLOR="1",
        AWS_ENDPOINT_URL=aws_emulator,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
    )
    output = " ".join(proc.stdout.split())
    assert "AWS credentials do not work" not in output, output[-3000:]
    message = "has no AWSServiceRoleForAutoScaling, which the platform key's policy names"
    assert (message in output) is reported, output[-3000:]
    if reported:
        assert "set create_autoscaling_service_linked_role = true in env.tfvars" in output
