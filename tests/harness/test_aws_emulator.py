"""scripts/aws_emulator.py starts, reuses, reports and stops a moto server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "aws_emulator.py"


@pytest.fixture(scope="module")
def emulator():
    spec = importlib.util.spec_from_file_location("aws_emulator_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cli(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_start_reuse_status_stop(emulator, tmp_path):
    try:
        first = emulator.start(tmp_path)
        assert first["started"] is True
        assert first["endpoint"].startswith("http://127.0.0.1:")
        assert (tmp_path / "endpoint").read_text().strip() == first["endpoint"]
        assert int((tmp_path / "pid").read_text()) == first["pid"]
        with urllib.request.urlopen(f"{first['endpoint']}/moto-api/data.json", timeout=5) as resp:
            assert resp.status == 200

        second = emulator.start(tmp_path)
        assert second == {**first, "started": False}

        proc = _cli("status", "--state-dir", str(tmp_path))
        assert proc.returncode == 0
        assert json.loads(proc.stdout)["running"] is True
    finally:
        assert emulator.stop(tmp_path) is True
    assert not (tmp_path / "pid").exists()
    assert emulator.stop(tmp_path) is False
    assert emulator.status(tmp_path)["running"] is False
    assert (tmp_path / "moto.log").exists()


def test_iam_managed_policies_are_loaded(emulator, tmp_path):
    import boto3

    info = emulator.start(tmp_path)
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=info["endpoint"],
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
        assert policy["Policy"]["PolicyName"] == "AmazonEKSClusterPolicy"
    finally:
        emulator.stop(tmp_path)


def test_cli_start_and_stop_print_json(tmp_path):
    proc = _cli("start", "--state-dir", str(tmp_path))
    try:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["started"] is True
    finally:
        stop = _cli("stop", "--state-dir", str(tmp_path))
    assert stop.returncode == 0
    assert json.loads(stop.stdout) == {"stopped": True}
    status = _cli("status", "--state-dir", str(tmp_path))
    assert status.returncode == 1
    assert json.loads(status.stdout)["running"] is False


def test_stale_record_is_replaced(emulator, tmp_path):
    (tmp_path / "endpoint").write_text("http://127.0.0.1:9\n")
    (tmp_path / "pid").write_text("999999\n")
    try:
        info = emulator.start(tmp_path)
        assert info["started"] is True and info["endpoint"] != "http://127.0.0.1:9"
    finally:
        emulator.stop(tmp_path)


def test_expected_failure_exits_2_without_traceback(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    proc = _cli("start", "--state-dir", str(not_a_dir))
    assert proc.returncode == 2
    assert "error" in proc.stderr and "Traceback" not in proc.stderr


def test_server_that_never_answers_names_the_log(emulator, tmp_path):
    with pytest.raises(emulator.EmulatorError, match=r"moto\.log"):
        # A python that exits at once stands in for a broken moto install.
        emulator.start(tmp_path, timeout=5, python="/bin/false")
    assert emulator.status(tmp_path)["running"] is False


def test_help_documents_the_commands():
    proc = _cli("--help")
    assert proc.returncode == 0
    for word in ("start", "stop", "status", "--state-dir", "endpoint", "moto.log"):
        assert word in proc.stdout
