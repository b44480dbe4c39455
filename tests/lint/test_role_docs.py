"""Every role documents each of its variables in its README (a variables table), and every
variable in defaults/main.yml carries the role's prefix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
DEFAULTS = sorted(ROLES.glob("*/defaults/main.yml"))
# platform_defaults holds the platform-wide settings, named platform_* by design.
PREFIX_EXCEPTIONS = {"platform_defaults": "platform_"}


def documented(name: str, readme: str) -> bool:
    """Named in full, or as a `_suffix` of a grouped row (`foo_a` / `_b` / `_c`)."""
    if name in readme:
        return True
    return any(name.endswith(token) for token in re.findall(r"`(_[a-z0-9_]+)`", readme))


@pytest.mark.parametrize("defaults", DEFAULTS, ids=lambda p: p.parts[-3])
def test_every_variable_is_prefixed_and_documented(defaults: Path):
    role = defaults.parts[-3]
    names = list((yaml.safe_load(defaults.read_text()) or {}).keys())
    prefix = PREFIX_EXCEPTIONS.get(role, f"{role}_")
    assert [n for n in names if not n.startswith(prefix)] == []
    readme = (defaults.parent.parent / "README.md").read_text()
    assert [n for n in names if not documented(n, readme)] == [], (
        f"document them in {role}/README.md"
    )


# The role argument specs (meta/argument_specs.yml) document every variable too, and Ansible
# checks their type and choices before the role's first task. They must agree with defaults and
# README: the same names, a type and a description each, every choice named in the README.
SPEC_TYPES = {"str", "int", "float", "bool", "list", "dict", "raw", "path"}


def readme_row(name: str, readme: str) -> str:
    for line in readme.splitlines():
        if line.startswith("|") and documented(name, line):
            return line
    return ""


@pytest.mark.parametrize("defaults", DEFAULTS, ids=lambda p: p.parts[-3])
def test_argument_spec_documents_every_variable(defaults: Path):
    role_dir = defaults.parent.parent
    spec_file = role_dir / "meta" / "argument_specs.yml"
    assert spec_file.is_file(), f"{role_dir.name} has no meta/argument_specs.yml"
    options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"]
    names = list((yaml.safe_load(defaults.read_text()) or {}).keys())
    assert sorted(options) == sorted(names), "the spec and defaults/main.yml name other variables"
    readme = (role_dir / "README.md").read_text()
    for name, option in options.items():
        assert option.get("type") in SPEC_TYPES, name
        assert "default" not in option, f"{name}: the default lives in defaults/main.yml only"
        assert option.get("description"), f"{name} has no description"
        row = readme_row(name, readme)
        for choice in option.get("choices", []):
            assert str(choice) in row, f"{name}: README.md does not name the choice {choice}"


def test_spec_rule_fails_an_undocumented_variable(tmp_path: Path):
    role = tmp_path / "r"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults" / "main.yml").write_text("r_a: 1\nr_b: x\n")
    (role / "README.md").write_text("| `r_a` | `1` | a |\n| `r_b` | `x` | b |\n")
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs: {main: {options: {r_a: {type: int, description: a}}}}\n"
    )
    with pytest.raises(AssertionError, match="name other variables"):
        test_argument_spec_documents_every_variable(role / "defaults" / "main.yml")
