#!/usr/bin/env python3
"""Write the rule file promtool reads from a rendered PrometheusRule.

usage: extract_rules.py RENDERED_PROMETHEUSRULE.yaml OUT_DIR
Writes OUT_DIR/model-api-slo.rules.yml (the object's spec) and copies
model-api-slo.rules.test.yml beside it, so
`promtool check rules OUT_DIR/model-api-slo.rules.yml` and
`promtool test rules OUT_DIR/model-api-slo.rules.test.yml` run as they are.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rule, out = Path(argv[0]), Path(argv[1])
    obj = yaml.safe_load(rule.read_text(encoding="utf-8"))
    if not isinstance(obj, dict) or obj.get("kind") != "PrometheusRule":
        print(f"{rule}: not a PrometheusRule", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "model-api-slo.rules.yml").write_text(yaml.safe_dump(obj["spec"], sort_keys=False))
    shutil.copyfile(HERE / "model-api-slo.rules.test.yml", out / "model-api-slo.rules.test.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
