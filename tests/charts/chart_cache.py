#!/usr/bin/env python3
"""Build a chart cache for tests/charts/test_chart_render.py: every chart version the roles pin,
as an unpacked chart folder <cache>/<chart>/<version>/ (with its dependencies under charts/).

Two sources:

  pull    the published charts, from each role's chart repository (what CI does; needs the chart
          repositories to be reachable), through helm-python-sdk (no helm binary):
              scripts/with-env python tests/charts/chart_cache.py pull --dest .cache/charts
  mirror  the charts' source repositories as bare git folders (<root>/<owner>+<name>/repo), each
          chart exported at its release tag, dependencies at the versions its Chart.yaml names:
              scripts/with-env python tests/charts/chart_cache.py mirror --root /work/.mirror \
                  --dest /work/chart-cache

Then: PLATFORM_CHART_CACHE=<dest> scripts/with-env python -m pytest tests/charts

A source export differs from the published chart where upstream generates files at packaging time;
those gaps are printed (for example external-secrets' CRD templates, generated from its CRD bundle
by hack/helm.generate.sh, are absent from the repository). Nothing here is committed.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

# charts_support: beside this file (pytest's rootdir-relative import; a script's own folder)
from charts_support import (
    PIN_CHARTS,
    REPO_ROOT,
    UPSTREAM,
    Upstream,
    cached_chart,
    load_yaml,
    role_chart_pins,
)

# Repository URLs of dependencies -> the upstream source of their charts (README of shared/charts)
DEPENDENCY_REPOSITORIES = {
    "https://grafana.github.io/helm-charts": "grafana/helm-charts",
    "https://grafana-community.github.io/helm-charts": "grafana-community/helm-charts",
}

# Known differences between a source export and the published chart
SOURCE_GAPS = {
    "external-secrets": "templates/crds/ is generated at packaging time by hack/helm.generate.sh "
    "from deploy/crds/bundle.yaml; generate_external_secrets_crds() does the same for the chart's "
    "default crds.* settings only (no v1beta1 serving switch, no conversion, no CRD annotations)",
}


def pinned_charts() -> list[tuple[str, str, str]]:
    """(chart, version, repo_url) for every chart pin of the roles."""
    out = []
    for pin in role_chart_pins():
        defaults = load_yaml(REPO_ROOT / "roles" / pin.role / "defaults" / "main.yml")
        repo_url = defaults[pin.var.replace("_chart_version", "_chart_repo_url")]
        out.append((PIN_CHARTS[pin.var], pin.version, repo_url))
    return out


# --- pull -------------------------------------------------------------------------------------
def pull(dest: Path) -> int:
    import helm_python as helm

    failures = 0
    for chart, version, repo_url in pinned_charts():
        target = cached_chart(dest, chart, version)
        if (target / "Chart.yaml").is_file():
            print(f"cached  {chart} {version}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                helm.pull(chart, repo_url=repo_url, version=version, destination=tmp)
                archive = next(Path(tmp).glob("*.tgz"))
                helm.expand(Path(tmp) / "x", archive)
            except Exception as exc:  # noqa: BLE001 - reported per chart, the others go on
                print(f"FAILED  {chart} {version} from {repo_url}: {exc}")
                failures += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / "x" / chart), target)
        print(f"pulled  {chart} {version} from {repo_url}")
    return failures


# --- mirror -----------------------------------------------------------------------------------
def git(root: Path, repository: str, *args: str, binary: bool = False):
    git_dir = root / repository.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        raise FileNotFoundError(f"no mirror of {repository} at {git_dir}")
    result = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=True)
    return result.stdout if binary else result.stdout.decode()


def eks_charts_tag(root: Path, upstream: Upstream, version: str) -> str:
    """The first aws/eks-charts v0.0.N tag whose chart holds version (how the chart is released)."""
    tags = git(root, upstream.repository, "tag", "-l", "v0.0.*").split()
    for tag in sorted(tags, key=lambda t: int(t.rsplit(".", 1)[1])):
        try:
            chart = git(root, upstream.repository, "show", f"{tag}:{upstream.path}/Chart.yaml")
        except subprocess.CalledProcessError:
            continue
        if re.search(rf"^version:\s*\"?{re.escape(version)}\"?\s*$", chart, re.M):
            return tag
    raise LookupError(f"no tag of {upstream.repository} releases {upstream.path} {version}")


def export(root: Path, upstream: Upstream, tag: str, version: str, target: Path) -> None:
    data = git(
        root, upstream.repository, "archive", "--format=tar", f"{tag}:{upstream.path}", binary=True
    )
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(target, filter="data")
    if upstream.stamp_version:  # what the release tooling does (shared/charts/README.md)
        chart_yaml = target / "Chart.yaml"
        text = chart_yaml.read_text(encoding="utf-8")
        text = re.sub(r"^version:.*$", f"version: {version}", text, flags=re.M)
        text = re.sub(r"^appVersion:.*$", f"appVersion: {version}", text, flags=re.M)
        chart_yaml.write_text(text, encoding="utf-8")


def tag_date(root: Path, repository: str, tag: str) -> str:
    return git(
        root, repository, "for-each-ref", "--format=%(creatordate:iso-strict)", f"refs/tags/{tag}"
    ).strip()


def dependency_source(dep: dict) -> tuple[Upstream, str]:
    name = dep["name"]
    upstream = UPSTREAM[name]
    repository = DEPENDENCY_REPOSITORIES.get(str(dep.get("repository", "")).rstrip("/"))
    if repository:
        upstream = Upstream(repository, upstream.tag, upstream.path, upstream.stamp_version)
    return upstream, str(dep["version"])


def resolve_wildcard(root: Path, upstream: Upstream, pattern: str, before: str) -> str:
    """The newest tagged version matching pattern (e.g. 0.12.*) created before the parent's tag:
    what Helm resolved when the parent chart was packaged."""
    prefix = upstream.tag.replace("{version}", "")
    found = []
    for tag in git(root, upstream.repository, "tag", "-l", f"{prefix}*").split():
        version = tag[len(prefix) :]
        if fnmatch.fnmatch(version, pattern) and tag_date(root, upstream.repository, tag) <= before:
            found.append(version)
    if not found:
        raise LookupError(f"no {upstream.repository} tag matches {prefix}{pattern} before {before}")
    return max(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def generate_external_secrets_crds(root: Path, upstream: Upstream, tag: str, target: Path) -> int:
    """What external-secrets' hack/helm.generate.sh does at packaging: one template per CRD of
    deploy/crds/bundle.yaml, named after its singular, inside `if .Values.installCRDs` (Cluster*
    and PushSecret kinds also need crds.create<Kind>). Its other edits change nothing at the
    chart's defaults for this bundle (checked at helm-chart-2.9.0: no v1alpha1 ExternalSecret or
    SecretStore versions, no conversion webhooks, crds.annotations empty)."""
    bundle = git(root, upstream.repository, "show", f"{tag}:deploy/crds/bundle.yaml")
    if "{{" in bundle:
        raise LookupError("deploy/crds/bundle.yaml holds template braces; cannot wrap it safely")
    folder = target / "templates" / "crds"
    count = 0
    for document in re.split(r"^---\s*$", bundle, flags=re.M):
        crd = yaml.safe_load(document) if document.strip() else None
        if not crd:
            continue
        kind = crd["spec"]["names"]["kind"]
        condition = (
            f"and (.Values.installCRDs) (.Values.crds.create{kind})"
            if "Cluster" in kind or "PushSecret" in kind
            else ".Values.installCRDs"
        )
        text = "{{- if " + condition + " }}\n" + document.strip("\n") + "\n{{- end }}\n"
        (folder / f"{crd['spec']['names']['singular']}.yaml").write_text(text, encoding="utf-8")
        count += 1
    return count


def mirror_chart(root: Path, chart: str, version: str, target: Path) -> list[str]:
    upstream = UPSTREAM[chart]
    tag = (
        upstream.tag.format(version=version)
        if upstream.tag
        else eks_charts_tag(root, upstream, version)
    )
    export(root, upstream, tag, version, target)
    notes = [f"{upstream.repository} {tag}:{upstream.path}"]
    parent_date = tag_date(root, upstream.repository, tag)
    for dep in (load_yaml(target / "Chart.yaml") or {}).get("dependencies") or []:
        dep_target = target / "charts" / dep["name"]
        if (dep_target / "Chart.yaml").is_file():
            notes.append(f"  {dep['name']}: in the chart's own tree")
            continue
        dep_upstream, dep_version = dependency_source(dep)
        if "*" in dep_version:
            dep_version = resolve_wildcard(root, dep_upstream, dep_version, parent_date)
        dep_tag = dep_upstream.tag.format(version=dep_version)
        export(root, dep_upstream, dep_tag, dep_version, dep_target)
        notes.append(f"  {dep['name']} {dep_version}: {dep_upstream.repository} {dep_tag}")
    if chart == "external-secrets":
        count = generate_external_secrets_crds(root, upstream, tag, target)
        notes.append(f"  {count} CRD templates generated from deploy/crds/bundle.yaml")
    if chart in SOURCE_GAPS:
        notes.append(f"  gap: {SOURCE_GAPS[chart]}")
    return notes


def mirror(root: Path, dest: Path) -> int:
    failures = 0
    for chart, version, _ in pinned_charts():
        target = cached_chart(dest, chart, version)
        if (target / "Chart.yaml").is_file():
            print(f"cached  {chart} {version}")
            continue
        try:
            notes = mirror_chart(root, chart, version, target)
        except (FileNotFoundError, LookupError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(target, ignore_errors=True)
            print(f"FAILED  {chart} {version}: {exc}")
            failures += 1
            continue
        print(f"export  {chart} {version} from " + "\n".join(notes))
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pull_cmd = sub.add_parser("pull", help="pull the published charts from their repositories")
    pull_cmd.add_argument("--dest", type=Path, required=True)
    mirror_cmd = sub.add_parser("mirror", help="export the charts from bare git mirrors")
    mirror_cmd.add_argument("--root", type=Path, required=True)
    mirror_cmd.add_argument("--dest", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "pull":
        failures = pull(args.dest.resolve())
    else:
        failures = mirror(args.root.resolve(), args.dest.resolve())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
