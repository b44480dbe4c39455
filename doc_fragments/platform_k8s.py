# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0
"""Documentation of the cluster connection options every platform module takes
(module_utils/platform_k8s.py: K8S_CONNECTION_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description: Path to a kubeconfig; the usual resolution when omitted.
    type: path
    aliases: [kubeconfig_path]
  context:
    description: Kubeconfig context.
    type: str
  host:
    description: API server URL (with I(api_key)) instead of a kubeconfig.
    type: str
  api_key:
    description: Bearer token for I(host).
    type: str
  validate_certs:
    description: Verify the API server's certificate.
    type: bool
    default: true
    aliases: [verify_ssl]
  ca_cert:
    description: CA bundle of the API server.
    type: path
    aliases: [ssl_ca_cert]
"""
