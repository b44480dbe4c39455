#!/usr/bin/env python3
"""Write a Terraform CLI configuration file and print its path.

Provider installation depends on the environment variable TF_PLUGIN_MIRROR:

  set to a directory   providers under registry.terraform.io come only from that
                       filesystem mirror (offline machines); anything else direct
  set to a missing     error, exit 2
  directory
  unset or empty       install everything directly from the public registry

Use it like this:

    export TF_PLUGIN_MIRROR=/path/to/mirror      # optional
    export TF_CLI_CONFIG_FILE=$(scripts/terraform_cli_config.py --output build/tfcli.rc)
    terraform -chdir=terraform init

Exit codes: 0 written; 2 bad input (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

MIRROR_ENV = "TF_PLUGIN_MIRROR"
REGISTRY_PATTERN = "registry.terraform.io/*/*"


class ConfigError(Exception):
    """An expected failure, reported without a traceback."""


def render(mirror: str | None) -> str:
    """Return the CLI configuration text for an optional mirror directory."""
    if not mirror:
        return (
            "# Written by scripts/terraform_cli_config.py: public registry.\n"
            "provider_installation {\n"
            "  direct {}\n"
            "}\n"
        )
    path = Path(mirror).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{MIRROR_ENV}={mirror!r} is not a directory")
    # json.dumps gives an HCL-compatible quoted string (escapes quotes and backslashes).
    quoted = json.dumps(str(path.resolve()))
    pattern = json.dumps(REGISTRY_PATTERN)
    return (
        f"# Written by scripts/terraform_cli_config.py from {MIRROR_ENV}.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {quoted}\n"
        f"    include = [{pattern}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{pattern}]\n"
        "  }\n"
        "}\n"
    )


def write(output: str | os.PathLike | None, mirror: str | None) -> Path:
    """Write the configuration to output (a fresh temp file when None); return its path."""
    text = render(mirror)
    if output is None:
        fd, name = tempfile.mkstemp(prefix="terraform-cli-", suffix=".rc")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return Path(name)
    path = Path(output).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from exc
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="terraform_cli_config.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        "-o",
        help="file to write (parent directories are created); default: a new temporary file",
    )
    args = parser.parse_args(argv)
    try:
        path = write(args.output, os.environ.get(MIRROR_ENV) or None)
    except ConfigError as exc:
        print(f"terraform_cli_config.py: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
