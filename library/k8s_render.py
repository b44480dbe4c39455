#!/usr/bin/python
# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_render
short_description: Validate a component's Kubernetes objects and Helm inputs, then write them
description:
  - The render half of the platform's apply-or-render mechanism (roles/platform_k8s).
  - Validates every object first (as M(k8s_manifest_validate) does); on any problem nothing is
    written.
  - Writes C(manifests/NNN-kind[-namespace]-name.yaml) in apply order and, for a Helm release,
    C(helm/<release>.values.yaml) and C(helm/<release>.release.yaml) (the chart pin) under
    I(dest); removes files an earlier run rendered that are no longer part of the component.
  - Writes only files whose content changed, so a second run reports no change; supports check
    mode and diff mode (names of the files that would change).
options:
  dest:
    description: The component's render folder, for example C(build/local/argo-rollouts).
    type: path
    required: true
  objects:
    description: Kubernetes objects, in apply order.
    type: list
    elements: dict
    default: []
  helm_release:
    description:
      - The Helm release the component installs (name, namespace, chart_ref, chart_repo_url,
        chart_version, values, and any extra keys recorded in the chart pin).
    type: dict
    default: {}
  kubernetes_version:
    description: Kubernetes minor version whose built-in schemas apply, for example C(1.33).
    type: str
    required: true
  schema_location:
    description: Folder or http(s) URL template of CRD JSON schemas.
    type: str
  source:
    description: Name used in validation messages, normally the component.
    type: str
    default: inline
requirements: [kubernetes-validate, jsonschema, PyYAML]
author: Platform team
"""

EXAMPLES = r"""
- name: Ensure the manifests are rendered for argo-rollouts
  k8s_render:
    dest: "{{ platform_render_dir }}/argo-rollouts"
    objects: "{{ platform_k8s_manifests }}"
    helm_release: "{{ platform_k8s_helm_release }}"
    kubernetes_version: "{{ platform_kubernetes_version }}"
    schema_location: "{{ platform_crd_schema_location }}"
"""

RETURN = r"""
validated:
  description: Number of objects validated.
  returned: always
  type: int
written:
  description: Files written (or that would be, in check mode), relative to I(dest).
  returned: always
  type: list
  elements: str
removed:
  description: Stale files removed (or that would be), relative to I(dest).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.manifest_validation import ManifestValidationError, ManifestValidator

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False


class RenderError(Exception):
    """A reason the component cannot be rendered."""


def _dump(data):
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def planned_files(objects, helm_release):
    """Return {relative path: content} for a component; names carry the apply order."""
    files = {}
    for index, obj in enumerate(objects, start=1):
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace")
        name = "{:03d}-{}-{}{}.yaml".format(
            index,
            str(obj.get("kind", "object")).lower(),
            f"{namespace}-" if namespace else "",
            metadata.get("name", "unnamed"),
        )
        files[os.path.join("manifests", name)] = _dump(obj)
    if helm_release:
        release = helm_release.get("name")
        if not release:
            raise RenderError("the Helm release has no name")
        pin = {k: v for k, v in helm_release.items() if k != "values"}
        files[os.path.join("helm", f"{release}.values.yaml")] = _dump(
            helm_release.get("values") or {}
        )
        files[os.path.join("helm", f"{release}.release.yaml")] = _dump(pin)
    return files


def existing_files(dest):
    found = set()
    for folder in ("manifests", "helm"):
        path = os.path.join(dest, folder)
        if os.path.isdir(path):
            found.update(
                os.path.join(folder, name) for name in os.listdir(path) if name.endswith(".yaml")
            )
    return found


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    argument_spec = dict(
        dest=dict(type="path", required=True),
        objects=dict(type="list", elements="dict", default=[]),
        helm_release=dict(type="dict", default={}),
        kubernetes_version=dict(type="str", required=True),
        schema_location=dict(type="str"),
        source=dict(type="str", default="inline"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg="Failed to render manifests: PyYAML is required")
    params = module.params
    dest = params["dest"]

    try:
        validator = ManifestValidator(params["kubernetes_version"], params["schema_location"])
        count, problems = validator.validate_documents(params["objects"], params["source"])
    except ManifestValidationError as exc:
        module.fail_json(msg=f"Failed to render manifests: {exc}")
    if problems:
        lines = [str(p) for p in problems]
        module.fail_json(
            msg=f"Failed to render manifests: {len(lines)} problem(s), nothing written:\n"
            + "\n".join(lines),
            problems=lines,
            validated=count,
        )

    try:
        planned = planned_files(params["objects"], params["helm_release"])
    except RenderError as exc:
        module.fail_json(msg=f"Failed to render manifests: {exc}")
    written = sorted(p for p, c in planned.items() if read(os.path.join(dest, p)) != c)
    removed = sorted(existing_files(dest) - set(planned))

    if not module.check_mode:
        for rel in written:
            write(os.path.join(dest, rel), planned[rel])
        for rel in removed:
            os.remove(os.path.join(dest, rel))
        os.makedirs(os.path.join(dest, "manifests"), exist_ok=True)

    changed = bool(written or removed)
    diff = {"before": "\n".join(removed) + "\n", "after": "\n".join(written) + "\n"}
    module.exit_json(
        changed=changed,
        validated=count,
        written=written,
        removed=removed,
        diff=diff if changed else None,
    )


if __name__ == "__main__":
    main()
