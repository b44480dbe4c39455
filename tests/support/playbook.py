"""ansible-playbook as the tests run it: from the repository root, with the project's ansible.cfg.

- ``local_play``: one play on localhost without fact gathering (vars, roles, tasks);
- ``write_playbook``: the plays written as a playbook file;
- ``run_playbook``: ``ansible-playbook <args>`` in a subprocess, output captured, never raising;
- ``succeeded``: asserts the run passed, showing the end of its output when it did not;
- ``run_and_record``: tasks run in a local play, then a template over its variables written out
  and returned (what the play decided, for the test to read).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import yaml

from tests.support import REPO_ROOT

ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"


def local_play(tasks: list, vars: dict | None = None, roles: list | None = None) -> dict:
    """A play on localhost without fact gathering."""
    play: dict = {"hosts": "localhost", "gather_facts": False}
    if roles is not None:
        play["roles"] = roles
    if vars is not None:
        play["vars"] = vars
    play["tasks"] = tasks
    return play


def write_playbook(path: Path, *plays: dict) -> Path:
    """Write the plays to path as a playbook; returns path."""
    path.write_text(yaml.safe_dump(list(plays)))
    return path


def run_playbook(
    args: list, env: Mapping[str, str], *, timeout: int = 180, **extra_env: str
) -> subprocess.CompletedProcess:
    """Run ``ansible-playbook <args>`` from the repository root with env + ANSIBLE_CONFIG +
    extra_env; the result is returned whatever the exit code."""
    return subprocess.run(
        ["ansible-playbook", *(str(arg) for arg in args)],
        cwd=REPO_ROOT,
        env={**env, "ANSIBLE_CONFIG": str(ANSIBLE_CFG), **extra_env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess) -> str:
    """Assert the run passed (the end of its output as the message); returns its stdout."""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def run_and_record(
    env: Mapping[str, str],
    directory: Path,
    record: str,
    *,
    tasks: list,
    vars: dict | None = None,
    roles: list | None = None,
) -> str:
    """Run tasks in a local play, then write record (a template over the play's variables) to a
    file in directory; asserts the run passed and returns what was written."""
    out = directory / "record.txt"
    copy = {"ansible.builtin.copy": {"dest": str(out), "content": record, "mode": "0644"}}
    play = local_play(tasks=[*tasks, copy], vars=vars, roles=roles)
    succeeded(run_playbook([write_playbook(directory / "play.yml", play)], env))
    return out.read_text()
