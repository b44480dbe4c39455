"""scripts/terraform_cli_config.py writes the provider-installation config."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import SCRIPTS

SCRIPT = SCRIPTS / "terraform_cli_config.py"


def _run(tmp_path, mirror):
    env = {k: v for k, v in os.environ.items() if k != "TF_PLUGIN_MIRROR"}
    if mirror is not None:
        env["TF_PLUGIN_MIRROR"] = str(mirror)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(tmp_path / "cli.rc")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mirror_directory_is_used_for_the_registry(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    proc = _run(tmp_path, mirror)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "cli.rc").read_text()
    assert proc.stdout.strip() == str(tmp_path / "cli.rc")
    assert f'path    = "{mirror}"' in text
    assert 'include = ["registry.terraform.io/*/*"]' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text


def test_missing_mirror_directory_is_an_error(tmp_path):
    proc = _run(tmp_path, tmp_path / "nope")
    assert proc.returncode == 2
    assert "TF_PLUGIN_MIRROR" in proc.stderr and "not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cli.rc").exists()


def test_without_mirror_the_public_registry_is_used(tmp_path):
    proc = _run(tmp_path, None)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "cli.rc").read_text()
    assert "direct {}" in text and "filesystem_mirror" not in text
