"""The entry points the workflows use (issue 14, for .github/workflows of issue 22).

playbooks/platform_outputs.yml reads the `platform` output from an inventory's S3 state without
planning or applying, with the backend configured only by tracked files: the inventory's
`.tfbackend` (here one pointing at emulated S3) and terraform/envs/s3_backend_override.tf, linked
into build/<inventory>/terraform/root. moto stands in for S3; what real S3 adds (IAM on the
bucket: the deploy role's s3:ListBucket/s3:GetObject) is checked by terraform test.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.support.aws import emulated_client
from tests.support.playbook import run_playbook

from .conftest import REGION, TERRAFORM_DIR

pytestmark = pytest.mark.slow

BUCKET = "ml-platform-state-test"
KEY = "ml-platform/dev/terraform.tfstate"
PLATFORM = {
    "name": "ml-platform",
    "environment": "dev",
    "region": REGION,
    "cluster": {"name": "ml-platform-dev"},
}


def _state() -> str:
    """A Terraform state (format version 4) holding only the `platform` output."""
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.11.0",
            "serial": 1,
            "lineage": str(uuid.uuid4()),
            "outputs": {
                "platform": {
                    "value": PLATFORM,
                    "type": [
                        "object",
                        {
                            "name": "string",
                            "environment": "string",
                            "region": "string",
                            "cluster": ["object", {"name": "string"}],
                        },
                    ],
                }
            },
            "resources": [],
            "check_results": None,
        }
    )


def _platform_outputs(tmp_path, terraform_env, backend_file):
    return run_playbook(
        [
            "-i",
            "inventories/aws-dev",
            "playbooks/platform_outputs.yml",
            "-e",
            f"platform_build_dir={tmp_path / 'build'}",
            "-e",
            f"platform_terraform_backend_config={os.path.relpath(backend_file, TERRAFORM_DIR)}",
        ],
        terraform_env,
        timeout=600,
        ANSIBLE_NOCOLOR="1",
        AWS_SESSION_TOKEN="testing",
    )


@pytest.fixture
def backend_file(tmp_path, aws_emulator):
    emulated_client(aws_emulator, "s3", REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    path = tmp_path / "emulated.s3.tfbackend"
    # envs/aws-dev.s3.tfbackend's settings, plus what talking to the emulator needs.
    path.write_text(
        f'bucket = "{BUCKET}"\nkey = "{KEY}"\nregion = "{REGION}"\nencrypt = true\n'
        "use_lockfile = true\n"
        f'endpoints = {{ s3 = "{aws_emulator}" }}\n'
        "use_path_style = true\nskip_credentials_validation = true\n"
        "skip_requesting_account_id = true\nskip_metadata_api_check = true\n"
        "skip_region_validation = true\n"
    )
    yield path
    s3 = emulated_client(aws_emulator, "s3", REGION)
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def test_outputs_come_from_the_s3_state_without_applying(
    tmp_path, terraform_env, aws_emulator, backend_file
):
    s3 = emulated_client(aws_emulator, "s3", REGION)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_state().encode())
    proc = _platform_outputs(tmp_path, terraform_env, backend_file)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recorded = json.loads((tmp_path / "build" / "platform.json").read_text())
    assert recorded == PLATFORM
    root = tmp_path / "build" / "terraform" / "root"
    assert (root / "backend_override.tf").resolve() == (
        TERRAFORM_DIR / "envs" / "s3_backend_override.tf"
    )
    # Nothing applied: the state object is the one written above, untouched.
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())["serial"] == 1
    assert not (TERRAFORM_DIR / "backend_override.tf").exists()


def test_an_empty_state_says_to_run_the_infra_stage(tmp_path, terraform_env, backend_file):
    proc = _platform_outputs(tmp_path, terraform_env, backend_file)
    output = " ".join(proc.stdout.split())
    assert proc.returncode != 0
    assert "The Terraform state of inventory aws-dev has no `platform` output" in output
    assert "site.yml --tags infra" in output
