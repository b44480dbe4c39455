"""A stand-in for the Helm 3 CLI, for tests/unit/test_platform_k8s_helm_repair.py.

``install(bin_dir)`` puts it on a PATH as ``helm``, which runs this file as a script.

It keeps a release's revisions in a JSON file (env HELM_STAND_IN_STATE), shared with the test's
stand-in API server, which serves them as Helm's storage Secrets. It answers only the commands
kubernetes.core 6.2.0's helm and helm_info modules send, and follows Helm v3.21.4 where it
matters here:
- list: latest revision of each release first, then the state mask (default deployed|failed,
  --all everything) (pkg/action/list.go Run);
- upgrade --install: install when there is no history; else upgrade from the latest revision:
  pending -> "another operation (install/upgrade/rollback) is in progress", failed or
  superseded without a deployed one -> upgraded from (pkg/action/upgrade.go prepareUpgrade;
  cmd/helm/upgrade.go); on success the previously deployed revision becomes superseded;
- uninstall without --keep-history removes every revision (pkg/action/uninstall.go).
What real Helm adds and this does not: rendering, hooks, waiting, atomic rollback on failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

VERSION = (
    'version.BuildInfo{Version:"v3.21.4", GitCommit:"813176c51bb5c181dbbd7901298ddcc104cd3417",'
    ' GitTreeState:"clean", GoVersion:"go1.x"}'
)


def install(bin_dir: Path) -> Path:
    """Write bin_dir/helm, which runs this stand-in; returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    helm = bin_dir / "helm"
    # -P: the script's folder (tests/support, whose ansible.py would shadow Ansible) is not put
    # on sys.path
    helm.write_text(f'#!/bin/sh\nexec "{sys.executable}" -P "{Path(__file__).resolve()}" "$@"\n')
    helm.chmod(0o755)
    return helm


def load():
    with open(os.environ["HELM_STAND_IN_STATE"]) as handle:
        return json.load(handle)


def save(state):
    with open(os.environ["HELM_STAND_IN_STATE"], "w") as handle:
        json.dump(state, handle)


def option(args, name):
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


def positional(args):
    skip_next = {"--timeout", "--filter", "--version", "--repo", "-f", "--values"}
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in skip_next:
            skip = True
            continue
        if not arg.startswith("-"):
            out.append(arg.strip("'"))
    return out


def element(state, revision):
    return {
        "name": state["name"],
        "namespace": state["namespace"],
        "revision": str(revision["version"]),
        "updated": "2026-11-30 19:00:00.000000000 +0000 UTC",
        "status": revision["status"],
        "chart": revision["chart"],
        "app_version": "",
    }


def fail(message):
    sys.stderr.write(f"Error: {message}\n")
    sys.exit(1)


def main(args):
    state = load()
    state.setdefault("calls", []).append(" ".join(args))
    save(state)
    revisions = sorted(state["revisions"], key=lambda r: r["version"])
    latest = revisions[-1] if revisions else None
    words = positional(args)
    if words[:1] == ["version"]:
        print(VERSION)
    elif words[:2] == ["plugin", "list"]:
        print("NAME\tVERSION\tDESCRIPTION")
    elif words[:1] == ["list"]:
        shown = []
        if latest and ("--all" in args or latest["status"] in ("deployed", "failed")):
            shown = [element(state, latest)]
        print(yaml.safe_dump(shown))
    elif words[:2] == ["get", "values"]:
        if not latest:
            fail("release: not found")
        print(yaml.safe_dump(latest["values"]) if latest["values"] else "null")
    elif words[:1] == ["get"]:
        print("")
    elif words[:2] == ["show", "chart"]:
        print(
            yaml.safe_dump(
                {"apiVersion": "v2", "name": words[2], "version": option(args, "--version")}
            )
        )
    elif words[:1] == ["upgrade"]:
        values_file = option(args, "-f")
        values = yaml.safe_load(open(values_file)) if values_file else {}
        chart = f"{words[2]}-{option(args, '--version')}"
        if latest is None:
            state["revisions"] = [
                {"version": 1, "status": "deployed", "values": values, "chart": chart}
            ]
        else:
            if latest["status"].startswith("pending"):
                fail("UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress")
            deployed = [r for r in revisions if r["status"] == "deployed"]
            if not deployed and latest["status"] not in ("failed", "superseded"):
                fail(f'UPGRADE FAILED: "{state["name"]}" has no deployed releases')
            for revision in deployed:
                revision["status"] = "superseded"
            revisions.append(
                {
                    "version": latest["version"] + 1,
                    "status": "deployed",
                    "values": values,
                    "chart": chart,
                }
            )
            state["revisions"] = revisions
        save(state)
        print(f'Release "{state["name"]}" has been upgraded. Happy Helming!')
    elif words[:1] == ["uninstall"]:
        if latest is None:
            fail(f"uninstall: Release not loaded: {state['name']}: release: not found")
        state["revisions"] = []
        save(state)
        print(f'release "{state["name"]}" uninstalled')
    else:
        fail(f"the stand-in does not know: {' '.join(args)}")


if __name__ == "__main__":
    main(sys.argv[1:])
