"""eks_kubeconfig: checked against the (emulated) EKS API, written once, no secret inside."""

from __future__ import annotations

import stat

import boto3
import eks_kubeconfig
import pytest
import yaml
from moto import mock_aws


@pytest.fixture
def cluster(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        eks = boto3.client("eks", region_name="eu-west-1")
        created = eks.create_cluster(
            name="ml-platform-test",
            roleArn=role,
            resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
        )["cluster"]
        yield created


def args(tmp_path, cluster, **extra):
    return {
        "cluster_name": "ml-platform-test",
        "region": "eu-west-1",
        "expected_endpoint": cluster["endpoint"],
        "expected_certificate_authority_data": cluster["certificateAuthority"]["data"],
        "path": str(tmp_path / "kubeconfig"),
        **extra,
    }


def test_writes_an_exec_flow_kubeconfig_once_then_reports_no_change(run_module, tmp_path, cluster):
    failed, result = run_module(eks_kubeconfig.main, args(tmp_path, cluster))
    assert not failed and result["changed"]
    written = tmp_path / "kubeconfig"
    config = yaml.safe_load(written.read_text())
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert config["current-context"] == "ml-platform-test"
    assert config["clusters"][0]["cluster"]["server"] == cluster["endpoint"]
    user = config["users"][0]["user"]
    assert "token" not in user
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"][2:6] == ["eks", "get-token", "--cluster-name", "ml-platform-test"]

    failed, again = run_module(eks_kubeconfig.main, args(tmp_path, cluster))
    assert not failed and not again["changed"]


def test_check_mode_writes_nothing(run_module, tmp_path, cluster):
    failed, result = run_module(eks_kubeconfig.main, args(tmp_path, cluster), check_mode=True)
    assert not failed and result["changed"]
    assert not (tmp_path / "kubeconfig").exists()


def test_profile_and_role_reach_the_exec_flow(run_module, tmp_path, cluster):
    role = "arn:aws:iam::123456789012:role/deploy"
    run_module(eks_kubeconfig.main, args(tmp_path, cluster, aws_profile="dev", role_arn=role))
    exec_ = yaml.safe_load((tmp_path / "kubeconfig").read_text())["users"][0]["user"]["exec"]
    assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "dev"}]
    assert exec_["args"][-2:] == ["--role-arn", role]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"cluster_name": "absent"}, "cluster 'absent' does not exist"),
        (
            {"expected_endpoint": "https://elsewhere.example.com"},
            "but Terraform reported https://elsewhere.example.com",
        ),
        ({"expected_certificate_authority_data": "Zm9v"}, "different certificate authority"),
    ],
)
def test_a_cluster_that_does_not_match_terraform_is_refused(
    run_module, tmp_path, cluster, override, message
):
    failed, result = run_module(eks_kubeconfig.main, args(tmp_path, cluster, **override))
    assert failed
    assert result["msg"].startswith("Failed to write the kubeconfig: ")
    assert message in result["msg"]
    assert not (tmp_path / "kubeconfig").exists()
