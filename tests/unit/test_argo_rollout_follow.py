"""roles/model_api/tasks/follow.yml, the unattended follow loop, run by ansible-playbook against a
scripted argo_rollout (tests/unit/fixtures/follow_stub/argo_rollout.py) whose answers are what
the real module returns for recorded Rollouts (module_utils/argo_rollouts.rollout_summary).

Issue 16 #3 (an Inconclusive pause aborts at once) and issue 20 #7 (transient API errors, a
missing controller, never claiming traffic is on stable unless the Rollout says so).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from ansible.module_utils import argo_rollouts as ar

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"
STUB = FIXTURES / "follow_stub"

PLAYBOOK = """
- name: Follow a release with a scripted argo_rollout
  hosts: localhost
  gather_facts: false
  vars:
    model_api_follow_poll_seconds: 1
    model_api_follow_abort_confirm_seconds: 2
    model_api_follow_timeout_seconds: 1800
  tasks:
    - name: Note when following started
      ansible.builtin.set_fact:
        model_api_follow_started: "{{ now(utc=true).timestamp() }}"
        model_api_follow_outcome: ""
    - name: Follow
      ansible.builtin.include_role:
        name: model_api
        tasks_from: follow
    - name: Write what the summary would use
      ansible.builtin.copy:
        dest: "{{ result_file }}"
        mode: "0644"
        content: >-
          {{ {'outcome': model_api_follow_outcome,
              'traffic_on_stable': model_api_follow_traffic_on_stable | default(none),
              'reason': model_api_follow_reason | default(''),
              'failing_metric': (model_api_follow_last | default({})).failing_metric
                                | default(none)}
             | to_json }}
"""


def load(name):
    docs = list(yaml.safe_load_all((FIXTURES / f"rollout-{name}.yaml").read_text()))
    return docs[0], docs[1:]


def summary(name, change=None):
    rollout, runs = load(name)
    if change:
        change(rollout)
    return json.loads(json.dumps(ar.rollout_summary(rollout, runs)))


def run_follow(tmp_path, tool_env, script, **extra_vars):
    script_file = tmp_path / "script.json"
    script_file.write_text(json.dumps(script))
    playbook = tmp_path / "follow.yml"
    playbook.write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    env = dict(tool_env)
    env.update(
        FOLLOW_SCRIPT=str(script_file),
        ANSIBLE_LIBRARY=str(STUB),
        ANSIBLE_ROLES_PATH=str(REPO_ROOT / "roles"),
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
    )
    extra = dict(
        extra_vars,
        result_file=str(result_file),
        ansible_python_interpreter="{{ ansible_playbook_python }}",
    )
    start = time.monotonic()
    done = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            "-e",
            json.dumps(extra),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,  # the old loop recursed until model_api_follow_timeout_seconds
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    calls_file = tmp_path / "script.json.calls"
    calls = [json.loads(line)["state"] for line in calls_file.read_text().splitlines()]
    assert time.monotonic() - start < 120
    return json.loads(result_file.read_text()), calls, output


def waited(status):
    """What argo_rollout state=wait returns."""
    return {"changed": False, "rollout": status, "patches": [], "read_errors": []}


def _inconclusive(rollout):
    rollout["status"]["pauseConditions"].append(
        {"reason": "InconclusiveAnalysisRun", "startTime": "2026-06-01T10:04:00Z"}
    )


def test_an_inconclusive_pause_during_a_step_pause_aborts_at_once(tmp_path, tool_env):
    paused = summary("paused")
    inconclusive = summary("paused", _inconclusive)
    # what the abort patch returns: abort set, the controller has not moved the weight yet
    requested = summary("paused", lambda r: (_inconclusive(r), r["status"].update(abort=True)))
    assert requested["traffic_on_stable"] is False
    script = {
        "wait": [waited(paused), waited(inconclusive)],
        "abort": [{"changed": True, "rollout": requested}],
        "status": [{"rollout": summary("degraded")}],
    }
    result, calls, _ = run_follow(tmp_path, tool_env, script)
    # the second wait (the pause reason changed) is the last: no further step is waited for
    assert calls == ["wait", "wait", "abort", "status"]
    assert result["outcome"] == "aborted"
    assert "inconclusive" in result["reason"]
    # the controller's own status after the abort says the canary is at 0 %
    assert result["traffic_on_stable"] is True


def test_transient_read_errors_end_in_unknown_with_a_summary_not_a_failed_play(tmp_path, tool_env):
    """The old loop failed the play on the first API error: no abort, no summary."""
    paused = summary("paused")
    error = {
        "failed": True,
        "msg": "Failed to wait for Rollout model-api/model-api: 7 failed reads in a row "
        "(error_retries 6); last: PlatformModuleError: API error 503",
        "rollout": paused,
        "read_errors": ["API error 503"] * 7,
    }
    script = {"wait": [waited(paused), error], "abort": [{"changed": True, "rollout": paused}]}
    result, calls, _ = run_follow(tmp_path, tool_env, script)
    assert calls == ["wait", "wait"]
    assert result["outcome"] == "unknown"
    assert result["traffic_on_stable"] is False
    assert "could not be read" in result["reason"] and "API error 503" in result["reason"]


def test_a_missing_controller_is_not_reported_as_an_abort(tmp_path, tool_env):
    """No controller ever wrote status: the old loop waited 30 minutes, aborted and said traffic
    was back on stable."""

    def never_reconciled(rollout):
        rollout["status"] = {}
        rollout["metadata"]["generation"] = 2

    pending = summary("progressing", never_reconciled)
    assert pending["controller_seen"] is False
    requested = summary(
        "progressing", lambda r: (never_reconciled(r), r["status"].update(abort=True))
    )
    script = {"wait": [waited(pending)], "abort": [{"changed": True, "rollout": requested}]}
    result, calls, _ = run_follow(tmp_path, tool_env, script, model_api_follow_controller_seconds=0)
    assert calls == ["wait", "abort"]
    assert result["outcome"] == "controller-missing"
    assert result["traffic_on_stable"] is False
    assert "no Argo Rollouts controller" in result["reason"]
    assert "never set" in result["reason"]


def test_traffic_on_stable_comes_from_the_rollout_after_an_abort(tmp_path, tool_env):
    """Degraded by the analysis, but the controller has not yet moved the ALB weight: the loop
    waits (bounded) and reports what the Rollout says, not what it hopes."""

    def weight_still_up(rollout):
        rollout["status"]["canary"]["weights"]["canary"]["weight"] = 10
        rollout["status"]["canary"]["weights"]["stable"]["weight"] = 90

    moving = summary("degraded", weight_still_up)
    assert moving["traffic_on_stable"] is False
    settled = summary("degraded")
    script = {"wait": [waited(moving)], "status": [{"rollout": moving}, {"rollout": settled}]}
    result, calls, _ = run_follow(tmp_path, tool_env, script)
    assert calls == ["wait", "status", "status"]
    assert (result["outcome"], result["traffic_on_stable"]) == ("aborted", True)
    assert result["failing_metric"]["metric"] == "success-rate"

    stuck = {"wait": [waited(moving)], "status": [{"rollout": moving}]}
    (tmp_path / "stuck").mkdir()
    result, _, _ = run_follow(tmp_path / "stuck", tool_env, stuck)
    assert (result["outcome"], result["traffic_on_stable"]) == ("aborted", False)


def test_a_promoted_release_ends_the_loop(tmp_path, tool_env):
    healthy = summary("healthy")
    script = {"wait": [waited(summary("paused")), waited(healthy)]}
    result, calls, _ = run_follow(tmp_path, tool_env, script)
    assert calls == ["wait", "wait"]
    assert (result["outcome"], result["traffic_on_stable"]) == ("promoted", True)


# ------------------------------------------------- what deploy.yml does with the follow outputs
def _deploy_tail(tmp_path, tool_env, facts):
    """Run deploy.yml's own "Summarise the release" and final fail task with the follow loop's
    outputs set as facts; (rc, output)."""
    plays = yaml.safe_load((REPO_ROOT / "playbooks" / "deploy.yml").read_text())
    wanted = ("Summarise the release", "Fail the release because the canary was not promoted")
    tasks = [t for t in plays[0]["tasks"] if t.get("name") in wanted]
    assert [t["name"] for t in tasks] == list(wanted)
    play = {
        "name": "deploy.yml's summary and verdict",
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {
            "platform_k8s_render": False,
            "platform_infra": {
                "ecr_repository_url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m"
            },
            "model_api_image_tag": "1.4.0",
            "model_api_analysis": "prometheus",
            "deploy_analysis_reason": "test",
            "deploy_prometheus_where": "test",
            "platform_inventory_name": "test",
            "platform_build_dir": str(tmp_path),
            "deploy_namespace": "model-api",
            "deploy_name": "model-api",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            **facts,
        },
        "tasks": tasks,
    }
    playbook = tmp_path / "tail.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    env = dict(tool_env, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    done = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


@pytest.mark.parametrize(
    ("outcome", "on_stable", "fails", "says"),
    [
        ("promoted", True, False, None),
        ("aborted", True, True, "The Rollout reports all traffic back on the stable release"),
        ("aborted", False, True, "The Rollout does NOT report all traffic on the stable release"),
        # the old deploy.yml failed only on "aborted": these two passed as if released
        ("controller-missing", False, True, "does NOT report"),
        ("unknown", False, True, "does NOT report"),
    ],
)
def test_deploy_fails_unless_promoted_and_says_where_traffic_is_as_the_rollout_reports(
    tmp_path, tool_env, outcome, on_stable, fails, says
):
    facts = {
        "model_api_follow_outcome": outcome,
        "model_api_follow_traffic_on_stable": on_stable,
        "model_api_follow_reason": f"reason for {outcome}",
        "model_api_follow_last": {"message": "", "failing_metric": None},
    }
    rc, output = _deploy_tail(tmp_path, tool_env, facts)
    assert (rc != 0) is fails, output[-2000:]
    if says:
        assert says in output, output[-2000:]
        assert f"reason for {outcome}" in output


def test_an_abort_that_cannot_be_sent_is_not_reported_as_aborted(tmp_path, tool_env):
    paused = summary("paused")
    inconclusive = summary("paused", _inconclusive)
    refused = {"failed": True, "msg": "Failed to abort Rollout model-api/model-api: API error 503"}
    script = {"wait": [waited(paused), waited(inconclusive)], "abort": [refused]}
    result, calls, _ = run_follow(tmp_path, tool_env, script)
    assert calls == ["wait", "wait", "abort", "abort", "abort", "abort"]  # 1 + 3 retries
    assert (result["outcome"], result["traffic_on_stable"]) == ("unknown", False)
    assert "the abort request failed" in result["reason"] and "API error 503" in result["reason"]
