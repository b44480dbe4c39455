"""Every role's Molecule `default` scenario (render mode on localhost) passes.

Scenarios are discovered, so a new role is tested as soon as it has molecule/default. Each runs
exactly as the README tells a user to: `../../scripts/with-env molecule test` inside the role's
folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
README_COMMAND = "cd roles/<role> && ../../scripts/with-env molecule test"
SCENARIOS = sorted(
    p.parent.parent.parent.name for p in ROLES.glob("*/molecule/default/molecule.yml")
)


def test_every_role_has_a_default_and_a_kind_scenario():
    roles = sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())
    library_roles = {"platform_defaults"}  # settings only: every scenario uses it
    missing_default = [r for r in roles if r not in library_roles and r not in SCENARIOS]
    assert not missing_default, f"roles without molecule/default: {missing_default}"


@pytest.mark.slow
@pytest.mark.parametrize("role", SCENARIOS)
def test_molecule_default_scenario(role, tool_env, tmp_path):
    env = dict(tool_env, MOLECULE_NO_LOG="false", ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        ["../../scripts/with-env", "molecule", "test"],
        cwd=ROLES / role,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    (tmp_path / "molecule.log").write_text(output)
    assert result.returncode == 0, f"molecule test failed for {role}:\n{output[-6000:]}"
    assert "idempotence" in output and "Executed: Successful" in output


def test_the_readme_shows_the_command_these_tests_run():
    assert README_COMMAND in (REPO / "README.md").read_text()
