"""Offline checks of the Terraform configuration: fmt, validate, terraform test, checkov."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, TERRAFORM_DIR

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def test_fmt_is_clean(terraform_env):
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", "-no-color"],
        cwd=TERRAFORM_DIR,
        env=terraform_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


def test_validate(terraform):
    proc = terraform.run("validate", "-json", "-no-color", check=False)
    result = json.loads(proc.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    assert result["warning_count"] == 0, json.dumps(result["diagnostics"], indent=2)


def test_every_module_has_the_standard_shape():
    for module in sorted((TERRAFORM_DIR / "modules").iterdir()):
        names = {p.name for p in module.glob("*.tf")}
        assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= names, module


def test_no_secret_version_resource_anywhere():
    # Values are set by Ansible; a secret version in Terraform would put the value in state.
    for path in TERRAFORM_DIR.rglob("*.tf"):
        assert 'resource "aws_secretsmanager_secret_version"' not in path.read_text(), path


@pytest.mark.slow
def test_terraform_test_with_mock_provider(terraform):
    proc = terraform.run("test", "-no-color", check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "0 failed" in proc.stdout
    for case in (
        "rejects_a_bad_vpc_cidr",
        "rejects_an_unsupported_kubernetes_version",
        "rejects_min_size_above_max_size",
        "autoscaling_service_role_can_use_the_platform_key",
        "ebs_csi_driver_role_and_add_on_exist",
        "publish_role_pushes_images_and_cannot_reach_eks",
        "each_role_trusts_only_its_own_environment",
        "rejects_names_too_long_for_iam",
    ):
        assert f'run "{case}"... pass' in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("vpc_cidr", '"10.0.0.0/33"', "vpc_cidr must be an IPv4 CIDR"),
        ("kubernetes_version", '"1.31"', "kubernetes_version must be one of the EKS versions"),
        # Issue 14: valid alone, too long together for IAM's 64-character role names.
        (
            "environment",
            '"production-eu-w1"\n    name = "ml-platform-serving"',
            "name and environment are too long together",
        ),
        (
            "cluster_endpoint_public_access_cidrs",
            '["10.0.0.0/0"]\n    cluster_endpoint_public_access = true',
            "must not contain a /0 (that is every address): 10.0.0.0/0",
        ),
        (
            "node_groups",
            '{ general = { instance_types = ["m6i.large"], min_size = 4, max_size = 2, '
            "desired_size = 3 } }",
            "0 <= min_size <= desired_size <= max_size",
        ),
    ],
)
def test_validation_messages_are_clear(terraform, variable, value, message):
    # A run without expect_failures shows the message a user would get, offline (mocked AWS).
    test_dir = terraform.workdir / f"pytest-{variable}"
    test_dir.mkdir(exist_ok=True)
    mocks = (TERRAFORM_DIR / "tests" / "platform.tftest.hcl").read_text()
    mock_block = mocks[mocks.index('mock_provider "aws"') : mocks.index("\nvariables {")]
    (test_dir / "message.tftest.hcl").write_text(
        f'{mock_block}\n\nrun "bad_{variable}" {{\n  command = plan\n\n'
        f"  variables {{\n    {variable} = {value}\n  }}\n}}\n"
    )
    proc = terraform.run("test", "-no-color", f"-test-directory={test_dir.name}", check=False)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 1, output[-3000:]
    assert "Invalid value for variable" in output
    assert message in output


@pytest.mark.slow
def test_checkov_has_no_unexplained_failures(tmp_path):
    if not CHECKOV.exists():
        pytest.skip(
            "checkov venv missing: python3 -m venv .venv-checkov && "
            ".venv-checkov/bin/pip install checkov==3.3.30"
        )
    src = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, src, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    proc = subprocess.run(
        [str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(src), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}"
        for r in reports
        for c in r["results"].get("failed_checks", [])
    ]
    assert not failed, "checkov failures without a written skip reason:\n" + "\n".join(failed)
    skipped = [c for r in reports for c in r["results"].get("skipped_checks", [])]
    for check in skipped:
        assert check.get("suppress_comment", "").strip(), (
            f"{check['check_id']} skipped without reason"
        )
    assert sum(r["summary"]["passed"] for r in reports) > 100


def test_terraform_dir_is_not_written_by_tests():
    assert not (TERRAFORM_DIR / ".terraform").exists()
    assert not list(Path(TERRAFORM_DIR).glob("*.tfstate"))
