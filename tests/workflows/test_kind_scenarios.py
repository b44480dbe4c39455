"""Every role's `kind` Molecule scenario shares one configuration and the one cluster.

e2e-kind.yml makes one kind cluster (helm/kind-action) and runs `make molecule-kind`, every
scenario one after another on it. The steps every scenario shares live once, in
molecule/shared/kind/ (molecule.yml, which each role's molecule/kind/molecule.yml links to,
create.yml, prepare.yml, destroy.yml); a role's scenario folder keeps only its own converge.yml,
verify.yml and vars.yml (its prerequisites and image). Copies drifted (`--wait 120s` vs `180s`,
step orders, variable names), so a role folder with its own copy of a shared step fails here.
The shared steps must never delete a cluster the scenario did not make (the old destroy.yml, first
in the test sequence, deleted kind-action's cluster), must install what a role's objects need
before them (CRDs: playbooks/addons.yml's order), and must build and `kind load` the image the
model_api scenario deploys (nothing pulls it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(REPO_ROOT.glob("roles/*/molecule/kind"))
SHARED = REPO_ROOT / "molecule" / "shared" / "kind"
# What a role's scenario folder may hold: the rest is shared.
OWN_FILES = {"molecule.yml", "converge.yml", "verify.yml", "vars.yml"}
SHARED_STEPS = ("create", "prepare", "destroy")


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


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_shared_structure(scenario: Path) -> list[str]:
    """The scenario uses the shared configuration and keeps no copy of a shared step."""
    problems = []
    config = scenario / "molecule.yml"
    if not config.is_symlink() or config.resolve() != (SHARED / "molecule.yml").resolve():
        problems.append("molecule.yml is not the link to molecule/shared/kind/molecule.yml")
    for extra in sorted({p.name for p in scenario.iterdir()} - OWN_FILES):
        problems.append(f"{extra} is a copy of a shared step (only {sorted(OWN_FILES)} are own)")
    if not (scenario / "vars.yml").is_file():
        problems.append("no vars.yml (molecule_kind_prerequisites, read by the shared prepare.yml)")
    return problems


def prerequisite_names(entries: list[dict[str, Any]]) -> list[str]:
    names = []
    for entry in entries:
        role, tasks_from = entry["role"], str(entry.get("tasks_from") or "")
        if role == "monitoring":
            names.append("monitoring-crds")  # the full role installs its CRDs first too
            if tasks_from.startswith("crds"):
                continue
        names.append(role)
    return names


def converge_order(scenario: Path) -> tuple[list[str], dict[str, Any]]:
    """The roles applied before and by the converge, in order: the shared prepare.yml applies
    vars.yml's molecule_kind_prerequisites, then converge.yml its roles and role tasks."""
    variables = dict(load(scenario / "vars.yml") or {}) if (scenario / "vars.yml").is_file() else {}
    (play,) = load(scenario / "converge.yml")
    order = prerequisite_names(variables.get("molecule_kind_prerequisites") or [])
    entries: list[dict[str, Any]] = []
    for section in ("pre_tasks", "roles", "tasks"):
        for item in play.get(section) or []:
            if isinstance(item, str):
                entries.append({"role": item})
            elif "role" in item:
                entries.append({"role": item["role"]})
            for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
                if isinstance(item, dict) and key in item:
                    entries.append(
                        {"role": item[key]["name"], "tasks_from": item[key].get("tasks_from")}
                    )
    order += prerequisite_names(entries)
    return order, {**variables, **(play.get("vars") or {})}


def check_install_order(scenario: Path) -> list[str]:
    order, variables = converge_order(scenario)
    problems = []
    for index, role in enumerate(order):
        for need in NEEDS.get(role, []):
            if need == "monitoring-crds" and variables.get(f"{role}_metrics_enabled") is False:
                continue
            if need not in order[:index]:
                problems.append(f"{role} is applied before {need}")
    return problems


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.parts[-3])
def test_scenario_keeps_only_its_own_parts(scenario: Path) -> None:
    assert check_shared_structure(scenario) == []


def test_every_role_with_a_default_scenario_and_a_chart_has_a_kind_scenario() -> None:
    # The eight roles that apply something to a cluster (platform_k8s is the apply library and
    # platform_defaults has no objects).
    assert [path.parts[-3] for path in SCENARIOS] == sorted(NEEDS)


def test_shared_configuration_runs_the_shared_steps_in_order() -> None:
    config = load(SHARED / "molecule.yml")
    for step in SHARED_STEPS:
        target = config["ansible"]["playbooks"][step]
        assert target == f"${{MOLECULE_PROJECT_DIRECTORY}}/../../molecule/shared/kind/{step}.yml"
        assert (SHARED / f"{step}.yml").is_file()
    sequence = config["scenario"]["test_sequence"]
    assert sequence[0] == sequence[-1] == "destroy"
    assert sequence.index("create") < sequence.index("prepare") < sequence.index("converge")
    assert sequence.index("converge") < sequence.index("idempotence") < sequence.index("verify")
    assert config["driver"] == {"name": "default", "options": {"managed": True}}


def test_shared_steps_keep_a_cluster_they_did_not_make() -> None:
    assert check_cluster_ownership(SHARED) == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.parts[-3])
def test_scenario_installs_what_its_objects_need_first(scenario: Path) -> None:
    assert check_install_order(scenario) == []


def test_shared_prepare_applies_the_prerequisites_in_order() -> None:
    (play,) = load(SHARED / "prepare.yml")
    assert (
        "{{ lookup('ansible.builtin.env', 'MOLECULE_SCENARIO_DIRECTORY') }}/vars.yml"
        in play["vars_files"]
    )
    (include,) = [t for t in play["tasks"] if "ansible.builtin.include_role" in t]
    assert include["loop"] == "{{ molecule_kind_prerequisites | default([]) }}"
    variable = include["loop_control"]["loop_var"]
    assert include["ansible.builtin.include_role"]["name"] == f"{{{{ {variable}.role }}}}"


def test_model_api_scenario_builds_and_loads_the_image_it_deploys() -> None:
    scenario = REPO_ROOT / "roles" / "model_api" / "molecule" / "kind"
    (prepare,) = load(SHARED / "prepare.yml")
    (converge,) = load(scenario / "converge.yml")
    image = load(scenario / "vars.yml")["molecule_kind_image"]
    assert "vars.yml" in converge["vars_files"]
    deployed = (
        converge["vars"]["model_api_image_repository"],
        converge["vars"]["model_api_image_tag"],
    )
    assert deployed == ("{{ molecule_kind_image.repository }}", "{{ molecule_kind_image.tag }}")
    assert image["repository"] and image["tag"]
    built = [t for t in prepare["tasks"] if "community.docker.docker_image_build" in t]
    loaded = [t for t in prepare["tasks"] if argv(t)[:3] == ["kind", "load", "docker-image"]]
    assert len(built) == 1 and len(loaded) == 1, (
        "prepare.yml must build the image and `kind load` it"
    )
    build = built[0]["community.docker.docker_image_build"]
    assert (build["name"], build["tag"]) == deployed
    assert when(built[0]) == when(loaded[0]) == "molecule_kind_image is defined"
    load_argv = argv(loaded[0])
    assert load_argv[-1] == f"{deployed[0]}:{deployed[1]}"
    assert load_argv[load_argv.index("--name") + 1] == "ml-platform"
    # built and loaded before anything is applied
    names = [t.get("name") for t in prepare["tasks"]]
    include = next(i for i, t in enumerate(prepare["tasks"]) if "ansible.builtin.include_role" in t)
    assert names.index(loaded[0]["name"]) < include


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


def test_structure_rule_fails_a_copied_scenario(tmp_path: Path) -> None:
    """A role folder as it was: its own molecule.yml and its own create/destroy (the drift)."""
    (tmp_path / "molecule.yml").write_text("scenario: {test_sequence: [destroy, create]}\n")
    (tmp_path / "create.yml").write_text(
        OLD_CREATE.replace("ml-platform]", "ml-platform, --wait, 120s]")
    )
    (tmp_path / "destroy.yml").write_text(OLD_DESTROY, encoding="utf-8")
    (tmp_path / "converge.yml").write_text("- hosts: localhost\n  roles: [monitoring]\n")
    problems = check_shared_structure(tmp_path)
    assert "molecule.yml is not the link to molecule/shared/kind/molecule.yml" in problems
    assert any(p.startswith("create.yml is a copy") for p in problems)
    assert any(p.startswith("destroy.yml is a copy") for p in problems)
    assert any(p.startswith("no vars.yml") for p in problems)


def test_order_rule_fails_the_old_model_api_converge(tmp_path: Path) -> None:
    (tmp_path / "converge.yml").write_text(
        "- hosts: localhost\n  roles: [platform_defaults]\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: model_api}\n",
        encoding="utf-8",
    )
    problems = check_install_order(tmp_path)
    assert "model_api is applied before monitoring-crds" in problems
    assert "model_api is applied before argo_rollouts" in problems


def test_order_rule_fails_prerequisites_in_the_wrong_order(tmp_path: Path) -> None:
    (tmp_path / "vars.yml").write_text(
        "molecule_kind_prerequisites:\n"
        "  - {role: external_secrets}\n"
        "  - {role: monitoring, tasks_from: crds.yml}\n"
    )
    (tmp_path / "converge.yml").write_text("- hosts: localhost\n  roles: [platform_secrets]\n")
    assert "external_secrets is applied before monitoring-crds" in check_install_order(tmp_path)
