#!/usr/bin/python
# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_manifest_validate
short_description: Validate Kubernetes objects offline against upstream schemas
description:
  - Validates Kubernetes objects given inline or in files and folders.
  - Built-in kinds are checked strictly with kubernetes-validate for I(kubernetes_version).
  - Custom resources are checked against JSON schemas found at I(schema_location), a folder or an
    http(s) URL template in the C({group}/{kind}_{version}.json) layout of the public CRDs catalog.
  - Unknown fields are errors, and so is a kind without a schema.
  - Never changes anything, so it runs unchanged in check mode.
options:
  objects:
    description: Kubernetes objects to validate.
    type: list
    elements: raw
  paths:
    description: Files or folders of manifests (C(*.yaml), C(*.yml), C(*.json)).
    type: list
    elements: path
  kubernetes_version:
    description: Kubernetes minor version whose built-in schemas apply, for example C(1.33).
    type: str
    required: true
  schema_location:
    description:
      - Folder or http(s) URL template of CRD JSON schemas.
      - Defaults to C($PLATFORM_CRD_SCHEMA_LOCATION), else the public CRDs catalog.
    type: str
  source:
    description: Name used for inline I(objects) in messages, for example the role that made them.
    type: str
    default: inline
requirements: [kubernetes-validate, jsonschema, PyYAML]
author: Platform team
"""

EXAMPLES = r"""
- name: Ensure the rendered objects are valid for the target Kubernetes version
  k8s_manifest_validate:
    paths: ["{{ platform_render_dir }}/argo-rollouts/manifests"]
    kubernetes_version: "1.33"
    schema_location: "{{ platform_crd_schema_location }}"
"""

RETURN = r"""
validated:
  description: Number of objects checked.
  returned: always
  type: int
  sample: 12
problems:
  description: One line per problem (file or source, document, object, field, message).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.manifest_validation import ManifestValidationError, ManifestValidator


def validate(params):
    validator = ManifestValidator(params["kubernetes_version"], params["schema_location"])
    count, problems = 0, []
    if params["objects"]:
        found = validator.validate_documents(params["objects"], params["source"])
        count, problems = count + found[0], problems + found[1]
    if params["paths"]:
        found = validator.validate_paths(params["paths"])
        count, problems = count + found[0], problems + found[1]
    return count, problems


def main():
    argument_spec = dict(
        objects=dict(type="list", elements="raw"),
        paths=dict(type="list", elements="path"),
        kubernetes_version=dict(type="str", required=True),
        schema_location=dict(type="str"),
        source=dict(type="str", default="inline"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("objects", "paths")],
        supports_check_mode=True,
    )
    try:
        count, problems = validate(module.params)
    except ManifestValidationError as exc:
        module.fail_json(msg=f"Failed to validate manifests: {exc}")
    if problems:
        lines = [str(p) for p in problems]
        module.fail_json(
            msg=f"Failed to validate manifests: {len(lines)} problem(s):\n" + "\n".join(lines),
            problems=lines,
            validated=count,
        )
    module.exit_json(changed=False, validated=count)


if __name__ == "__main__":
    main()
