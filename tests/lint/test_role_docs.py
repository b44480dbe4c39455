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
