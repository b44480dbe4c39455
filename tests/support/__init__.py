"""Test support for the suite, the demo (scripts/demo_canary.py) and Molecule verify steps.

Import it as ``tests.support.<concern>`` (the repository root is on the path: pytest's
``pythonpath`` in pyproject.toml; ``python -m ...`` run from the repository root):

- ``process``: processes in their own process groups, stopped for sure; free ports, HTTP GET;
- ``prometheus``: Prometheus and Alertmanager on 127.0.0.1, duration parsing, the suite's
  shortening of alert rules;
- ``slack``: a Slack-compatible webhook receiver and the mounted webhook Secret;
- ``render``: the roles rendered as shipped and for the local stack; rule files, templates;
- ``promtool``: the one writer of rule files for promtool, and the roles' promtool tests;
- ``service``: model-api processes (one per Rollout ReplicaSet) and a load generator;
- ``argo_expr``: Argo Rollouts' expression evaluator and verdict rules (an emulation);
- ``analysis``: AnalysisTemplates judged against Prometheus, an AnalysisRun on the controller's
  schedule;
- ``canary``: the canary stack (all of the above together), the failure timeline, the detection
  bound and its CLI (``python -m tests.support.canary bound``);
- ``aws``: the local inventory's AWS emulator (bin/aws-emulator) loaded as a module;
- ``playbook``: ansible-playbook run from the repository root with its ansible.cfg; local plays
  written as playbooks, a play's decision recorded to a file;
- ``kube_api``: a stand-in Kubernetes API server (JSON handler base, Status refusals, discovery
  documents) served on 127.0.0.1, and a kubeconfig for it;
- ``helm_stand_in``: a stand-in Helm 3 CLI (``install(bin_dir)`` puts it on PATH as ``helm``)
  whose release storage the stand-in API server serves;
- ``external_secret``: the model-api-keys ExternalSecret as the platform_secrets role renders it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "crd-schemas"


def crd_schema_location() -> str:
    """The schema location tests use: the environment's, else the shared folder beside the repo."""
    return os.environ.get("PLATFORM_CRD_SCHEMA_LOCATION") or str(SHARED_SCHEMAS)
