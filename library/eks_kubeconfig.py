#!/usr/bin/python
# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: eks_kubeconfig
short_description: Write a kubeconfig for an EKS cluster, checked against the EKS API
description:
  - Describes the cluster through the EKS API and checks that it is C(ACTIVE) and that its
    endpoint and certificate authority match what Terraform reported.
  - Writes a kubeconfig whose user obtains tokens with the C(aws eks get-token) exec flow, so no
    token or key is ever stored in the file.
  - Writes only when the content differs (mode 0600); supports check mode.
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  region:
    description: AWS region of the cluster.
    type: str
    required: true
  endpoint_url:
    description: EKS API endpoint override (emulated AWS).
    type: str
  expected_endpoint:
    description: API server endpoint Terraform reported; a different one is an error.
    type: str
  expected_certificate_authority_data:
    description: Base64 CA bundle Terraform reported; a different one is an error.
    type: str
  path:
    description: Where to write the kubeconfig.
    type: path
    required: true
  context_name:
    description: Name of the context (and cluster and user entries). Defaults to I(cluster_name).
    type: str
  aws_profile:
    description: AWS profile the exec flow uses (sets C(AWS_PROFILE) for it).
    type: str
  role_arn:
    description: Role the exec flow assumes to get the token (C(--role-arn)).
    type: str
requirements: [boto3, PyYAML]
author: Platform team
"""

EXAMPLES = r"""
- name: Ensure a kubeconfig for the platform's cluster exists
  eks_kubeconfig:
    cluster_name: "{{ platform_infra.cluster.name }}"
    region: "{{ platform_infra.region }}"
    expected_endpoint: "{{ platform_infra.cluster.endpoint }}"
    expected_certificate_authority_data: "{{ platform_infra.cluster.certificate_authority_data }}"
    path: "{{ platform_build_dir }}/kubeconfig"
"""

RETURN = r"""
path:
  description: Path of the kubeconfig.
  returned: always
  type: str
context:
  description: Name of the context in the kubeconfig.
  returned: always
  type: str
cluster:
  description: What the EKS API reported (name, endpoint, status, version, platform version).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

try:
    import boto3
    import botocore.exceptions
    import yaml

    HAS_DEPS = True
except ImportError:
    HAS_DEPS = False


class KubeconfigError(Exception):
    """A reason the kubeconfig cannot be written."""


def describe_cluster(eks, name):
    try:
        cluster = eks.describe_cluster(name=name)["cluster"]
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise KubeconfigError(f"cluster {name!r} does not exist") from exc
        raise KubeconfigError(f"cannot describe cluster {name!r}: {exc}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise KubeconfigError(f"cannot reach the EKS API: {exc}") from exc
    return {
        "name": cluster.get("name"),
        "endpoint": cluster.get("endpoint"),
        "certificate_authority_data": (cluster.get("certificateAuthority") or {}).get("data"),
        "status": cluster.get("status"),
        "version": cluster.get("version"),
        "platform_version": cluster.get("platformVersion"),
    }


def check_cluster(cluster, expected_endpoint, expected_ca):
    if cluster["status"] != "ACTIVE":
        raise KubeconfigError(f"cluster {cluster['name']!r} is {cluster['status']}, not ACTIVE")
    if not cluster["endpoint"]:
        raise KubeconfigError(f"cluster {cluster['name']!r} reports no API endpoint")
    if expected_endpoint and cluster["endpoint"] != expected_endpoint:
        raise KubeconfigError(
            f"the EKS API reports endpoint {cluster['endpoint']} but Terraform reported "
            f"{expected_endpoint}: refresh the infra stage"
        )
    if expected_ca and cluster["certificate_authority_data"] != expected_ca:
        raise KubeconfigError(
            "the EKS API reports a different certificate authority than Terraform: refresh the "
            "infra stage"
        )


def build_kubeconfig(cluster, region, context, profile=None, role_arn=None):
    args = [
        "--region",
        region,
        "eks",
        "get-token",
        "--cluster-name",
        cluster["name"],
        "--output",
        "json",
    ]
    if role_arn:
        args += ["--role-arn", role_arn]
    user_exec = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": args,
        "interactiveMode": "Never",
        "provideClusterInfo": False,
    }
    if profile:
        user_exec["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": context,
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": cluster["endpoint"],
                    "certificate-authority-data": cluster["certificate_authority_data"],
                },
            }
        ],
        "users": [{"name": context, "user": {"exec": user_exec}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }


def main():
    argument_spec = dict(
        cluster_name=dict(type="str", required=True),
        region=dict(type="str", required=True),
        endpoint_url=dict(type="str"),
        expected_endpoint=dict(type="str"),
        expected_certificate_authority_data=dict(type="str"),
        path=dict(type="path", required=True),
        context_name=dict(type="str"),
        aws_profile=dict(type="str"),
        role_arn=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_DEPS:
        module.fail_json(msg="Failed to write the kubeconfig: boto3 and PyYAML are required")
    params = module.params
    context = params["context_name"] or params["cluster_name"]
    try:
        eks = boto3.client(
            "eks", region_name=params["region"], endpoint_url=params["endpoint_url"] or None
        )
        cluster = describe_cluster(eks, params["cluster_name"])
        check_cluster(
            cluster, params["expected_endpoint"], params["expected_certificate_authority_data"]
        )
    except KubeconfigError as exc:
        module.fail_json(msg=f"Failed to write the kubeconfig: {exc}")

    content = yaml.safe_dump(
        build_kubeconfig(
            cluster, params["region"], context, params["aws_profile"], params["role_arn"]
        ),
        sort_keys=False,
    )
    path = params["path"]
    current = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    changed = current != content
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(content)
        os.replace(tmp, path)
    summary = {k: v for k, v in cluster.items() if k != "certificate_authority_data"}
    module.exit_json(changed=changed, path=path, context=context, cluster=summary)


if __name__ == "__main__":
    main()
