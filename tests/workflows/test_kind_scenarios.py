"""Every role's `kind` Molecule scenario is self-contained and shares the one cluster.

e2e-kind.yml makes one kind cluster (helm/kind-action) and runs `make molecule-kind`, every
scenario one after another on it. So a scenario must never delete a cluster it did not make (the
old destroy.yml, first in the test sequence, deleted kind-action's cluster and create.yml made a
new one), must install what its objects need before them (CRDs: playbooks/addons.yml's order), and
the model_api scenario must build and `kind load` the image it deploys (nothing pulls it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(REPO_ROOT.glob("roles/*/molecule/kind"))


def tasks(path: Path) -> list[dict[str, Any]]:
    found = []
    for play in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        for section in ("pre_tasks", "tasks", "post_tasks"):
            found += [task for task in play.get(section) or [] if isinstance(task, dict)]
    return found


def argv(task: dict[str, Any]) -> list[str]:
    command = task.get("ansible.builtin.command")
    if isinstance(command, str):
        return command.split()
    if isinstance(command, dict):
        return [str(word) for word in command.get("argv") or str(command.get("cmd", "")).split()]
    return []


def when(task: dict[str, Any]) -> str:
    value = task.get("when", "")
    return " and ".join(map(str, value)) if isinstance(value, list) else str(value)


def check_cluster_ownership(scenario: Path) -> list[str]:
    """destroy.yml deletes the cluster only when create.yml of this scenario made it."""
    problems = []
    create, destroy = tasks(scenario / "create.yml"), tasks(scenario / "destroy.yml")
    make = [t for t in create if argv(t)[:3] == ["kind", "create", "cluster"]]
    records = [t for t in create if "ansible.builtin.copy" in t]
    marker = (
        {str(t["ansible.builtin.copy"].get("dest")) for t in records if when(t) == when(make[0])}
        if make
        else set()
    )
    if make and not marker:
        problems.append("create.yml makes the cluster without recording that it did")
    stats = {
        t.get("register"): str(t["ansible.builtin.stat"].get("path"))
        for t in destroy
        if "ansible.builtin.stat" in t
    }
    for task in destroy:
        if argv(task)[:3] != ["kind", "delete", "cluster"]:
            continue
        guards = [
            name
            for name, path in stats.items()
            if path in marker and f"{name}.stat.exists" in when(task)
        ]
        if not guards:
            problems.append(
                f"destroy.yml `{' '.join(argv(task))}` (when: {when(task) or 'always'}) deletes a "
                "cluster this scenario did not make (kind-action's, or another scenario's)"
            )
    return problems


# What each role's objects need on the cluster first (playbooks/addons.yml: the Prometheus
# Operator CRDs before any chart that creates a ServiceMonitor; Argo Rollouts before a Rollout).
# A role whose ServiceMonitor is switched off in the scenario (`<role>_metrics_enabled: false`)
# does not need the monitoring CRDs.
NEEDS = {
    "aws_load_balancer_controller": ["monitoring-crds"],
    "cert_manager": ["monitoring-crds"],
    "external_secrets": ["monitoring-crds"],
    "argo_rollouts": ["monitoring-crds"],
    "cluster_autoscaling": ["monitoring-crds"],
    "model_api": ["monitoring-crds", "argo_rollouts"],
    "platform_secrets": ["external_secrets", "cert_manager"],
    "monitoring": [],
}


def converge_order(path: Path) -> tuple[list[str], dict[str, Any]]:
    """The roles a converge applies, in order; the monitoring role also provides its CRDs."""
    (play,) = yaml.safe_load(path.read_text(encoding="utf-8"))
    order: list[str] = []

    def add(name: str, tasks_from: str | None) -> None:
        if name == "monitoring" and tasks_from and tasks_from.startswith("crds"):
            order.append("monitoring-crds")
        else:
            if name == "monitoring":
                order.append("monitoring-crds")
            order.append(name)

    for task in play.get("pre_tasks") or []:
        for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
            if key in task:
                add(task[key]["name"], task[key].get("tasks_from"))
    for role in play.get("roles") or []:
        add(role if isinstance(role, str) else role["role"], None)
    for task in play.get("tasks") or []:
        for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
            if key in task:
                add(task[key]["name"], task[key].get("tasks_from"))
    return order, play.get("vars") or {}


def check_install_order(scenario: Path) -> list[str]:
    order, variables = converge_order(scenario / "converge.yml")
    problems = []
    for index, role in enumerate(order):
        for need in NEEDS.get(role, []):
            if need == "monitoring-crds" and variables.get(f"{role}_metrics_enabled") is False:
                continue
            if need not in order[:index]:
                problems.append(f"converge.yml applies {role} before {need}")
    return problems


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.parts[-3])
def test_scenario_keeps_a_cluster_it_did_not_make(scenario: Path) -> None:
    assert check_cluster_ownership(scenario) == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.parts[-3])
def test_scenario_installs_what_its_objects_need_first(scenario: Path) -> None:
    assert check_install_order(scenario) == []


def test_model_api_scenario_builds_and_loads_the_image_it_deploys() -> None:
    scenario = REPO_ROOT / "roles" / "model_api" / "molecule" / "kind"
    (create_play,) = yaml.safe_load((scenario / "create.yml").read_text(encoding="utf-8"))
    (converge_play,) = yaml.safe_load((scenario / "converge.yml").read_text(encoding="utf-8"))
    create_vars = create_play.get("vars") or {}
    deployed = (
        converge_play["vars"]["model_api_image_repository"],
        converge_play["vars"]["model_api_image_tag"],
    )
    built = [
        t["community.docker.docker_image_build"]
        for t in create_play["tasks"]
        if "community.docker.docker_image_build" in t
    ]
    loaded = [
        argv(t) for t in create_play["tasks"] if argv(t)[:3] == ["kind", "load", "docker-image"]
    ]
    assert len(built) == 1 and loaded, "create.yml must build the image and `kind load` it"

    def resolve(value: str) -> str:
        return re.sub(
            r"\{\{\s*(\w+)\s*\}\}", lambda m: str(create_vars.get(m.group(1), m.group(0))), value
        )

    assert (resolve(built[0]["name"]), resolve(str(built[0]["tag"]))) == deployed
    assert resolve(loaded[0][-1]) == f"{deployed[0]}:{deployed[1]}"
    assert "--name" in loaded[0] and loaded[0][loaded[0].index("--name") + 1] == "ml-platform"


#### The rules fail the scenarios as they were ##################################################

OLD_CREATE = """
- hosts: localhost
  tasks:
    - {ansible.builtin.command: {argv: [kind, get, clusters]}, register: c}
    - ansible.builtin.command: {argv: [kind, create, cluster, --name, ml-platform]}
      when: "'ml-platform' not in c.stdout_lines"
"""
OLD_DESTROY = """
- hosts: localhost
  tasks:
    - {ansible.builtin.command: {argv: [kind, get, clusters]}, register: c}
    - ansible.builtin.command: {argv: [kind, delete, cluster, --name, ml-platform]}
      when: "'ml-platform' in (c.stdout_lines | default([]))"
"""


def test_ownership_rule_fails_the_old_destroy(tmp_path: Path) -> None:
    (tmp_path / "create.yml").write_text(OLD_CREATE, encoding="utf-8")
    (tmp_path / "destroy.yml").write_text(OLD_DESTROY, encoding="utf-8")
    problems = check_cluster_ownership(tmp_path)
    assert any("without recording" in p for p in problems)
    assert any("did not make" in p for p in problems)


def test_order_rule_fails_the_old_model_api_converge(tmp_path: Path) -> None:
    (tmp_path / "converge.yml").write_text(
        "- hosts: localhost\n  roles: [platform_defaults]\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: model_api}\n",
        encoding="utf-8",
    )
    problems = check_install_order(tmp_path)
    assert "converge.yml applies model_api before monitoring-crds" in problems
    assert "converge.yml applies model_api before argo_rollouts" in problems
