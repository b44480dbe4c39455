"""The platform's roles rendered as shipped and for the local stack, and what the suite takes
from the render.

- ``render_roles``: runs tests/integration/render.yml (the roles as shipped, and for the stack);
- ``extract``: PrometheusRule specs -> rule files ``<name>.rules.yml`` (shortened when asked),
  AnalysisTemplates, the standalone alertmanager.yml.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO_ROOT, VENV_BIN, promtool
from tests.support.prometheus import Shortening, shorten_rule_groups

RENDER_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "render.yml"
RENDER_INVENTORY = REPO_ROOT / "tests" / "integration" / "inventory.yml"


def render_roles(
    roles: Iterable[str],
    shipped_dir: Path,
    stack_dir: Path,
    secrets_dir: Path,
    env: dict[str, str] | None = None,
    log_file: Path | None = None,
) -> None:
    """Run tests/integration/render.yml: the roles as shipped and for the local stack."""
    extra = {
        "integration_shipped_dir": str(shipped_dir),
        "integration_stack_dir": str(stack_dir),
        "integration_secrets_dir": str(secrets_dir),
        "integration_roles": list(roles),
    }
    run_env = dict(os.environ if env is None else env)
    run_env["PATH"] = f"{VENV_BIN}{os.pathsep}{run_env.get('PATH', '')}"
    run_env.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))
    run_env.setdefault(
        "PLATFORM_CRD_SCHEMA_LOCATION", str(REPO_ROOT.parent / "shared" / "crd-schemas")
    )
    command = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(RENDER_INVENTORY),
        str(RENDER_PLAYBOOK),
        "-e",
        json.dumps(extra),
    ]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=run_env, capture_output=True, text=True, check=False
    )
    if log_file:
        log_file.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"rendering {list(roles)} failed (rc {done.returncode}):\n{tail}")


def roles_with_kinds(kinds: Iterable[str] = ("PrometheusRule", "AnalysisTemplate")) -> list[str]:
    """Roles whose templates define any of these kinds (the roles the suite must render)."""
    found = []
    pattern = re.compile(r"^kind:\s*(" + "|".join(kinds) + r")\s*$", re.MULTILINE)
    for role in sorted((REPO_ROOT / "roles").iterdir()):
        templates = role / "templates"
        if templates.is_dir() and (
            any(pattern.search(p.read_text(errors="replace")) for p in templates.rglob("*.j2"))
            # the role that renders the Alertmanager configuration (monitoring, the stack only)
            or (templates / "alertmanager.yml.j2").is_file()
        ):
            found.append(role.name)
    return found


def rendered_objects(render_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every object in <render_dir>/<component>/manifests/*.yaml."""
    out = []
    for path in sorted(render_dir.glob("*/manifests/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                out.append((path, doc))
    return out


@dataclass
class Rendered:
    rule_files: dict[str, Path]  # PrometheusRule name -> <name>.rules.yml
    groups: dict[str, list[dict[str, Any]]]  # PrometheusRule name -> spec.groups (as shipped)
    analysis_templates: dict[str, dict[str, Any]]  # name -> object
    alertmanager_config: Path | None


def extract(render_dir: Path, rules_dir: Path, shortening: Shortening | None = None) -> Rendered:
    """Write each rendered PrometheusRule's groups to rules_dir/<name>.rules.yml (shortened
    when asked) and collect the AnalysisTemplates and the standalone alertmanager.yml."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    rule_files: dict[str, Path] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    templates: dict[str, dict[str, Any]] = {}
    for _path, obj in rendered_objects(render_dir):
        kind, name = obj.get("kind"), obj.get("metadata", {}).get("name")
        if kind == "PrometheusRule":
            spec_groups = obj.get("spec", {}).get("groups", [])
            groups[name] = spec_groups
            written = shorten_rule_groups(spec_groups, shortening) if shortening else spec_groups
            rule_files[name] = promtool.write_rule_file(obj, rules_dir, groups=written)
        elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            templates[name] = obj
    am = render_dir / "monitoring" / "alertmanager" / "alertmanager.yml"
    return Rendered(rule_files, groups, templates, am if am.is_file() else None)
