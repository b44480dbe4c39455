"""bin/aws-emulator, the local inventory's AWS emulator: starts, reuses, reports and stops a moto
server; the playbooks call it where it is, with commands it has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest
import yaml

from tests.support import REPO_ROOT, VENV_BIN
from tests.support.aws import EMULATOR, load_emulator


@pytest.fixture(scope="module")
def emulator():
    return load_emulator()


def _cli(*args):
    return subprocess.run(
        [sys.executable, str(EMULATOR), *args], capture_output=True, text=True, check=False
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


def test_error_messages_name_the_tool_as_called(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    proc = _cli("status", "--state-dir", str(not_a_dir / "x"))
    assert proc.returncode == 1 and json.loads(proc.stdout)["running"] is False
    proc = _cli("start", "--state-dir", str(not_a_dir))
    assert proc.stderr.startswith("aws-emulator start: error:"), proc.stderr


def test_runs_as_an_executable_in_the_project_environment():
    """`scripts/with-env bin/aws-emulator ...` (docs/terraform.md): executable, and its shebang
    finds the project's python (.venv/bin first on PATH), which has moto."""
    assert os.access(EMULATOR, os.X_OK)
    assert EMULATOR.read_text().startswith("#!/usr/bin/env python3\n")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(EMULATOR), "--help"], capture_output=True, text=True, check=False, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: aws-emulator")


def _emulator_commands():
    """Every command task of a playbook that runs the emulator: (file, task name, argv)."""
    found = []
    for path in sorted((REPO_ROOT / "playbooks").rglob("*.yml")):
        text = path.read_text()
        if "emulator" not in text:
            continue
        stack = [yaml.safe_load(text)]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                command = node.get("ansible.builtin.command")
                argv = command.get("argv") if isinstance(command, dict) else None
                if argv and any("emulator" in str(a) for a in argv):
                    found.append((path.relative_to(REPO_ROOT), node.get("name"), argv))
                stack.extend(node.values())
    return found


def test_playbooks_call_the_emulator_where_it_is_with_its_commands(emulator):
    """infra.yml starts and teardown.yml stops it: the path they run exists and is this CLI, the
    command is one the CLI has, and --state-dir is given (fails on a stale scripts/ path)."""
    calls = _emulator_commands()
    assert {str(c[0]) for c in calls} >= {"playbooks/infra.yml", "playbooks/teardown.yml"}, calls
    commands = set(emulator._parser()._subparsers._group_actions[0].choices)
    for playbook, task, argv in calls:
        assert argv[0] == "{{ ansible_playbook_python }}", (playbook, task)
        script = re.sub(r"^\{\{ platform_repo_root \}\}/", "", argv[1])
        assert REPO_ROOT / script == EMULATOR, (playbook, task, argv[1])
        assert argv[2] in commands, (playbook, task, argv[2])
        assert "--state-dir" in argv, (playbook, task)
