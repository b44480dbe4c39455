"""pre-commit runs the same linters as the suite, plus secret detection, all offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def hooks():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_config_is_valid(tool_env):
    result = subprocess.run(
        ["pre-commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_linter_of_the_suite_and_secret_detection_is_a_hook():
    expected = {
        "detect-private-key",
        "detect-aws-credentials",
        "yamllint",
        "ansible-lint",
        "ruff",
        "ruff-format",
        "terraform-fmt",
        "shellcheck",
        "hadolint",
        "actionlint",
    }
    assert expected <= set(hooks())


def test_secret_detection_catches_a_private_key_and_aws_credentials(tmp_path, tool_env):
    # Assembled at run time so this file itself never holds the patterns it tests for.
    key = tmp_path / "id_rsa"
    key.write_text(
        "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n"
    )
    creds = tmp_path / "credentials"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    creds.write_text(f"[default]\naws_secret_access_key = {secret}\n")
    fake_aws_config = tmp_path / "aws-config"
    fake_aws_config.write_text(f"[default]\naws_secret_access_key = {secret}\n")
    env = dict(
        tool_env,
        AWS_CONFIG_FILE=str(fake_aws_config),
        AWS_SHARED_CREDENTIALS_FILE=str(fake_aws_config),
    )
    private = subprocess.run(["detect-private-key", str(key)], env=env, capture_output=True)
    aws = subprocess.run(["detect-aws-credentials", str(creds)], env=env, capture_output=True)
    clean = subprocess.run(
        ["detect-private-key", str(ROOT / "README.md")], env=env, capture_output=True
    )
    assert private.returncode == 1
    assert aws.returncode == 1
    assert clean.returncode == 0
