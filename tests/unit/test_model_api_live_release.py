"""A site run keeps the release the Rollout runs (issue 20, finding 1).

Apply mode is driven against a stand-in API server that serves the recorded Rollout where the
real one serves custom objects (discovery of argoproj.io/v1alpha1, then the object), read by the
real kubernetes.core.k8s_info; render mode by two runs of playbooks/service.yml.

The service stage re-applies the Rollout on every site run. Before, it applied the role default
tag 0.1.0, so on a live platform each site run started a canary back to an old image. Now,
unless a release is asked for (deploy.yml's -e model_api_image_tag), roles/model_api/tasks/
live_release.yml keeps the image the Rollout declares: read with kubernetes.core.k8s_info (its
``resources`` list) in apply mode, from the rendered manifest in render mode.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from tests.support import REPO_ROOT
from tests.support.kube_api import JsonHandler, api_resource, cluster, discovery, status
from tests.support.playbook import run_and_record, run_playbook, succeeded

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IMAGE = "{{ model_api_image_repository }}:{{ model_api_image_tag }}"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-platform/model-api"

_spec = importlib.util.spec_from_file_location(
    "model_api_live_release", REPO_ROOT / "roles/model_api/filter_plugins/live_release.py"
)
live = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live)


def recorded_rollout(name):
    """The Rollout document of a recorded fixture (shape of what the controller serves)."""
    return next(yaml.safe_load_all((FIXTURES / f"rollout-{name}.yaml").read_text()))


@pytest.mark.parametrize("name", ["healthy", "paused", "progressing", "degraded"])
def test_the_live_image_is_kept_whatever_the_phase(name):
    rollout = recorded_rollout(name)
    image = rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    release = live.live_release([rollout], "model-api", ECR, "0.1.0")
    assert f"{release['repository']}:{release['tag']}" == image
    assert release["source"] == "live"
    assert release["tag"] != "0.1.0"  # the old role default, which rolled the service back


def test_a_first_install_uses_the_initial_tag():
    release = live.live_release([], "model-api", ECR, "0.1.0")
    assert (release["repository"], release["tag"], release["source"]) == (ECR, "0.1.0", "initial")


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"{ECR}:sha-3f2a9c1", (ECR, "sha-3f2a9c1", None)),
        ("localhost:5000/model-api:dev", ("localhost:5000/model-api", "dev", None)),
        ("localhost:5000/model-api", ("localhost:5000/model-api", None, None)),
        (f"{ECR}:1.4.0@sha256:" + "a" * 64, (ECR, "1.4.0", "sha256:" + "a" * 64)),
    ],
)
def test_image_references_split_like_the_docker_grammar(image, expected):
    assert live.split_image(image) == expected


@pytest.mark.parametrize(
    "image", ["localhost:5000/model-api", f"{ECR}@sha256:" + "b" * 64, f"{ECR}:latest"]
)
def test_a_live_image_without_one_build_tag_is_refused_by_name(image):
    rollout = recorded_rollout("healthy")
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
    with pytest.raises(AnsibleFilterError, match="model_api_image_tag"):
        live.live_release([rollout], "model-api", ECR, "0.1.0")


def test_a_rollout_without_the_container_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="no container 'api'"):
        live.live_release([recorded_rollout("healthy")], "api", ECR, "0.1.0")


def _service_stage(tool_env, render_dir, *extra):
    extra_vars = {
        "platform_k8s_mode": "render",
        "platform_render_dir": str(render_dir),
        "platform_infra": {"ecr_repository_url": ECR, "vpc_cidr": "10.0.0.0/16"},
    }
    result = run_playbook(
        ["playbooks/service.yml", "-e", json.dumps(extra_vars), *extra], tool_env, timeout=300
    )
    succeeded(result)
    (rollout_file,) = (render_dir / "model-api" / "manifests").glob("*-rollout-model-api-*.yaml")
    rollout = yaml.safe_load(rollout_file.read_text())
    return rollout["spec"]["template"]["spec"]["containers"][0]["image"], result.stdout


def test_a_second_site_run_leaves_the_released_tag(tool_env, tmp_path):
    # deploy.yml released 1.4.2 (its -e tag); the next site run passes no tag.
    image, _ = _service_stage(tool_env, tmp_path, "-e", "model_api_image_tag=1.4.2")
    assert image == f"{ECR}:1.4.2"
    image, output = _service_stage(tool_env, tmp_path)
    assert image == f"{ECR}:1.4.2", "the site run rolled the Rollout back"
    assert "kept the image the Rollout runs" in output
    assert "changed=0" in output


def test_a_first_site_run_installs_the_initial_tag(tool_env, tmp_path):
    image, _ = _service_stage(tool_env, tmp_path)
    assert image == f"{ECR}:0.1.0"


# ---- apply mode: the Rollout read from the cluster with kubernetes.core.k8s_info ----


def _discovery(with_rollouts):
    """Discovery with the Argo Rollouts CRD installed, or without (no argoproj.io group)."""
    rollouts = api_resource("rollouts", "Rollout", True, "rollout", shortNames=["ro"])
    return discovery(core=[], groups={"argoproj.io/v1alpha1": [rollouts]} if with_rollouts else {})


@pytest.fixture
def api_server(tmp_path):
    served = {"discovery": _discovery(True), "rollout": recorded_rollout("paused")}

    class Api(JsonHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            rollout_path = "/apis/argoproj.io/v1alpha1/namespaces/model-api/rollouts/model-api"
            if path in served["discovery"]:
                return self.send_json(200, served["discovery"][path])
            if path == rollout_path and served["rollout"] is not None:
                return self.send_json(200, served["rollout"])
            return self.send_json(*status(404, "NotFound", f"{path} not found"))

    with cluster(tmp_path, Api, user="u") as kubeconfig:
        yield served, kubeconfig


def _live_release_in_apply_mode(tool_env, tmp_path, kubeconfig):
    return run_and_record(
        tool_env,
        tmp_path,
        IMAGE,
        vars={
            "platform_k8s_render": False,
            "platform_kubeconfig": str(kubeconfig),
            "platform_infra": {"ecr_repository_url": ECR, "vpc_cidr": "10.0.0.0/16"},
        },
        tasks=[
            {"ansible.builtin.include_role": {"name": "model_api", "tasks_from": "live_release"}}
        ],
    )


def test_apply_mode_keeps_the_image_of_the_rollout_in_the_cluster(tool_env, tmp_path, api_server):
    served, kubeconfig = api_server
    live_image = served["rollout"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert _live_release_in_apply_mode(tool_env, tmp_path, kubeconfig) == live_image


def test_apply_mode_on_a_cluster_without_rollouts_installs_the_initial_tag(
    tool_env, tmp_path, api_server
):
    served, kubeconfig = api_server
    served["discovery"] = _discovery(False)  # no Argo Rollouts CRD yet (check mode, fresh cluster)
    served["rollout"] = None
    assert _live_release_in_apply_mode(tool_env, tmp_path, kubeconfig) == f"{ECR}:0.1.0"
