"""Shared fixtures of the Terraform tests.

The configuration is copied to a temporary directory and initialised once per session with the
CLI config from scripts/terraform_cli_config.py (provider mirror from TF_PLUGIN_MIRROR), so
nothing is ever written into the repository tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.aws import load_emulator

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
SCRIPTS = REPO / "scripts"
REGION = "eu-west-1"
TIMEOUT = 900

# Real credentials must never reach a test: these are replaced or removed.
_AWS_ENV_DROP = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


@dataclass
class Terraform:
    """A terraform working copy and the environment to run it with."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["terraform", *args],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} failed with {proc.returncode}:\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        return proc


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    """Environment for terraform: CLI config (mirror), no prompts, fake AWS credentials."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    base = tmp_path_factory.mktemp("terraform-cli")
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "terraform_cli_config.py"),
            "--output",
            str(base / "cli.rc"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = {k: v for k, v in os.environ.items() if k not in _AWS_ENV_DROP}
    env.update(
        TF_CLI_CONFIG_FILE=proc.stdout.strip(),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        # moto's server is not safe under concurrent writes (a parallel CreatePolicy once came
        # back 409 EntityAlreadyExists): emulated runs apply one resource at a time.
        TF_CLI_ARGS_apply="-parallelism=1",
        TF_CLI_ARGS_destroy="-parallelism=1",
    )
    env.pop("TF_VAR_aws_endpoint_url", None)
    return env


@pytest.fixture(scope="session")
def terraform(tmp_path_factory, terraform_env) -> Terraform:
    """A copy of terraform/ with `terraform init` run once (local state, no backend)."""
    workdir = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(
        TERRAFORM_DIR,
        workdir,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"),
    )
    tf = Terraform(workdir=workdir, env=terraform_env)
    tf.run("init", "-input=false", "-no-color")
    return tf


@pytest.fixture(scope="session")
def aws_emulator(tmp_path_factory):
    """moto server from bin/aws-emulator, stopped at the end whatever happened."""
    emulator = load_emulator()
    state_dir = tmp_path_factory.mktemp("aws-emulator")
    info = emulator.start(state_dir)
    try:
        yield info["endpoint"]
    finally:
        emulator.stop(state_dir)
