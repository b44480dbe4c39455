"""The one way rule files for promtool are written (issue 18): each rendered PrometheusRule becomes
``<out>/<metadata.name>.rules.yml`` (``{"groups": spec.groups}``), and the promtool unit tests of
the roles (``roles/<role>/files/promtool/*.test.yml``, the only place they live) are copied beside
them, because promtool resolves a test file's ``rule_files`` relative to the test file.

Used by tests/integration/test_rules.py (the one pytest that runs every role's promtool tests), by
Molecule verify steps (as a command) and, for the suite's stack, by tests.support.render.

Dashboards: every query of a Grafana dashboard ConfigMap is written as a recording rule in
``<out>/<configmap name>.queries.rules.yml`` so `promtool check rules` parses it.

usage (from the repository root):
  python -m tests.support.promtool OUT_DIR RENDERED... [--role ROLE] [--dashboards]
RENDERED: rendered manifest files, render folders (``<dir>/<component>/manifests/*.yaml``), a
component's folder or its manifests folder.
--role copies only that role's tests (default: every role's). Prints the files written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO_ROOT

TEST_GLOB = "roles/*/files/promtool/*.test.yml"


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    """Rendered manifest files: the files given, and */manifests/*.yaml under folders given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += (
                sorted(path.glob("*/manifests/*.yaml"))  # a render folder
                or sorted(path.glob("manifests/*.yaml"))  # one component's folder
                or sorted(path.glob("*.yaml"))  # a manifests folder
            )
        else:
            found.append(path)
    return found


def prometheus_rules(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every PrometheusRule object in the rendered manifests."""
    rules = []
    for path in manifest_files(paths):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                rules.append(doc)
    return rules


def write_rule_file(rule: dict[str, Any], out_dir: Path, groups: list[Any] | None = None) -> Path:
    """Write one PrometheusRule as out_dir/<metadata.name>.rules.yml; groups replaces the
    object's spec.groups (e.g. shortened for the suite's stack)."""
    if rule.get("kind") != "PrometheusRule":
        raise ValueError(f"not a PrometheusRule: {rule.get('kind')!r}")
    name = rule["metadata"]["name"]
    written = rule.get("spec", {}).get("groups", []) if groups is None else groups
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.rules.yml"
    target.write_text(yaml.safe_dump({"groups": written}, sort_keys=False), encoding="utf-8")
    return target


def write_rule_files(paths: Iterable[Path], out_dir: Path) -> dict[str, Path]:
    """Write every rendered PrometheusRule; name -> rule file. Two rules of one name fail."""
    written: dict[str, Path] = {}
    for rule in prometheus_rules(paths):
        name = rule["metadata"]["name"]
        if name in written:
            raise ValueError(f"two rendered PrometheusRules are named {name}")
        written[name] = write_rule_file(rule, out_dir)
    return written


def dashboard_queries(paths: Iterable[Path]) -> dict[str, list[str]]:
    """ConfigMap name -> every panel target expression of the Grafana dashboards it holds, with
    the dashboard variable $namespace replaced by the ConfigMap's namespace."""
    found: dict[str, list[str]] = {}
    for path in manifest_files(paths):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not (isinstance(doc, dict) and doc.get("kind") == "ConfigMap"):
                continue
            meta = doc["metadata"]
            for key, text in (doc.get("data") or {}).items():
                if not key.endswith(".json"):
                    continue
                dashboard = json.loads(text)
                exprs = [
                    target["expr"].replace("$namespace", meta.get("namespace", "default"))
                    for panel in dashboard.get("panels", [])
                    for target in panel.get("targets", [])
                    if target.get("expr")
                ]
                found.setdefault(meta["name"], []).extend(exprs)
    return found


def write_dashboard_query_files(paths: Iterable[Path], out_dir: Path) -> dict[str, Path]:
    """Each dashboard ConfigMap's queries as recording rules in out_dir/<name>.queries.rules.yml,
    so `promtool check rules` parses every query a dashboard runs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, exprs in dashboard_queries(paths).items():
        rules = [{"record": "dashboard:query", "expr": expr} for expr in exprs]
        target = out_dir / f"{name}.queries.rules.yml"
        doc = {"groups": [{"name": f"{name}-queries", "rules": rules}]}
        target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        written[name] = target
    return written


def role_test_files(role: str | None = None) -> list[Path]:
    """The promtool unit tests of every role (or of one role)."""
    pattern = TEST_GLOB.replace("roles/*/", f"roles/{role}/") if role else TEST_GLOB
    return sorted(REPO_ROOT.glob(pattern))


def copy_tests(out_dir: Path, role: str | None = None) -> list[Path]:
    """Copy the promtool unit tests beside the rule files; names must be unique."""
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for test in role_test_files(role):
        target = out_dir / test.name
        if target.exists():
            raise ValueError(f"two promtool test files are named {test.name}")
        shutil.copyfile(test, target)
        copied.append(target)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("rendered", type=Path, nargs="+")
    parser.add_argument("--role", help="copy only this role's promtool tests")
    parser.add_argument(
        "--dashboards", action="store_true", help="also write the dashboards' queries as rules"
    )
    args = parser.parse_args(argv)
    rules = write_rule_files(args.rendered, args.out_dir)
    if args.dashboards:
        rules |= write_dashboard_query_files(args.rendered, args.out_dir)
    if not rules:
        print(f"no PrometheusRule in {[str(p) for p in args.rendered]}", file=sys.stderr)
        return 1
    tests = copy_tests(args.out_dir, args.role)
    for path in [*rules.values(), *tests]:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
