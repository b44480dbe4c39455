"""The main job end to end on the local inventory (emulated AWS, render mode).

One module-scoped run of the whole life cycle, each step a test: a cold site.yml, a warm one that
must change nothing, the secrets kept out of Terraform state and output, teardown leaving nothing
of the platform in the emulated account, and a broken variable stopped by preflight.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.aws import emulated_client

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(
    r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)
# Values the secrets stage stores; they must never show up in output or Terraform state.
SECRET_ENV = {
    "MODEL_API_KEYS": "site-test-key-7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e,"
    "site-test-key-2e4f6a8c0e1b3d5f7a9c2e4f6a8c",
    "SLACK_WEBHOOK_CRITICAL": "https://hooks.slack.example/services/T000/B000/critical7f3c9a",
    "SLACK_WEBHOOK_WARNING": "https://hooks.slack.example/services/T000/B000/warning7f3c9a",
    "SLACK_WEBHOOK_DEPLOYMENTS": "https://hooks.slack.example/services/T000/B000/deploys7f3c9a",
}
SECRET_MARKERS = ["site-test-key-7f3c9a1e", "critical7f3c9a", "warning7f3c9a", "deploys7f3c9a"]


class Run:
    def __init__(self, result, seconds):
        self.rc = result.returncode
        self.output = result.stdout + result.stderr
        self.seconds = seconds
        recaps = RECAP.findall(self.output)
        self.recap = tuple(map(int, recaps[-1])) if recaps else None

    @property
    def changed(self):
        return self.recap[1]


@pytest.fixture(scope="module")
def site(tool_env, tmp_path_factory):
    build = tmp_path_factory.mktemp("site-build")
    env = dict(tool_env, **SECRET_ENV, ANSIBLE_NOCOLOR="1")

    def play(playbook, *extra):
        started = time.monotonic()
        result = subprocess.run(
            [
                "scripts/with-env",  # as the README shows it
                "ansible-playbook",
                "-i",
                "inventories/local",
                playbook,
                "-e",
                f"platform_build_dir={build}",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        run = Run(result, time.monotonic() - started)
        (build.parent / f"{Path(playbook).stem}-{int(started)}.log").write_text(run.output)
        return run

    state = {"build": build, "play": play, "runs": {}, "env": env}
    yield state
    # Whatever happened, leave no emulator behind.
    subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "bin/aws-emulator",
            "stop",
            "--state-dir",
            str(build / "aws"),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )


def _require(site, name):
    if name not in site["runs"]:
        pytest.skip(f"the {name} run did not happen (an earlier step failed)")
    return site["runs"][name]


@pytest.mark.slow
def test_a_broken_variable_fails_in_preflight_without_changing_anything(site):
    run = site["play"](
        "site.yml",
        "-e",
        "platform_aws_region=mars-central-9x",
        "-e",
        "platform_tls_mode=self-signed",
    )
    assert run.rc != 0
    assert "Preflight found 2 problem(s)" in run.output
    assert 'platform_aws_region is "mars-central-9x"' in run.output
    assert 'platform_tls_mode is "self-signed": allowed are acm, cert-manager' in run.output
    assert run.changed == 0
    assert not (site["build"] / "aws").exists(), "the emulator was started despite preflight"
    assert not list(site["build"].rglob("*.tfstate")), "Terraform ran despite preflight"


@pytest.mark.slow
def test_cold_site_run_builds_the_platform_offline(site):
    run = site["play"]("site.yml")
    site["runs"]["cold"] = run
    assert run.rc == 0, run.output[-8000:]
    assert run.recap[3] == 0
    build = site["build"]
    platform = json.loads((build / "platform.json").read_text())
    assert platform["cluster"]["name"] == "ml-platform-local"
    assert (build / "kubeconfig").is_file()
    summary = (build / "summary.md").read_text()
    assert "rendered, not applied" in summary
    components = {
        p.parent.parent.name
        for p in build.glob("*/*/*.yaml")
        if p.parent.name in ("manifests", "helm")
    }
    expected = {
        "aws-load-balancer-controller",
        "cert-manager",
        "external-secrets",
        "monitoring",
        "argo-rollouts",
        "cluster-autoscaler",
        "model-api",
    }
    assert expected <= components, f"missing rendered components: {expected - components}"
    result = subprocess.run(
        ["python", "bin/validate-manifests", "-q", *map(str, build.glob("*/manifests"))],
        cwd=ROOT,
        env=site["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_warm_site_run_changes_nothing(site):
    _require(site, "cold")
    run = site["play"]("site.yml")
    site["runs"]["warm"] = run
    assert run.rc == 0, run.output[-8000:]
    assert run.changed == 0, "\n".join(
        line
        for line in run.output.splitlines()
        if line.startswith("changed:") or line.startswith("TASK")
    )[-6000:]


@pytest.mark.slow
def test_deploy_renders_a_release_and_refuses_a_bad_tag(site):
    _require(site, "cold")
    bad = site["play"]("playbooks/deploy.yml", "-e", "model_api_image_tag=latest")
    assert bad.rc != 0
    assert "model_api_image_tag" in bad.output and "latest" in bad.output
    run = site["play"]("playbooks/deploy.yml", "-e", "model_api_image_tag=1.4.2")
    assert run.rc == 0, run.output[-6000:]
    summary = json.loads((site["build"] / "deploy-summary.json").read_text())
    assert summary["outcome"] == "rendered"
    assert summary["image"].endswith(":1.4.2")
    assert (site["build"] / "deploy-summary.md").read_text().strip()
    rollout = next((site["build"] / "model-api" / "manifests").glob("*-rollout-model-api-*.yaml"))
    assert ":1.4.2" in rollout.read_text()


@pytest.mark.slow
def test_no_secret_value_reaches_output_or_terraform_state(site):
    cold = _require(site, "cold")
    warm = _require(site, "warm")
    state = (site["build"] / "terraform" / "terraform.tfstate").read_text()
    for marker in SECRET_MARKERS:
        assert marker not in cold.output and marker not in warm.output
        assert marker not in state
        for rendered in site["build"].rglob("*.yaml"):
            assert marker not in rendered.read_text(), f"{marker} rendered into {rendered}"


@pytest.mark.slow
def test_teardown_leaves_nothing_of_the_platform(site):
    _require(site, "cold")
    endpoint = (site["build"] / "aws" / "endpoint").read_text().strip()
    run = site["play"]("playbooks/teardown.yml", "-e", "teardown_stop_emulator=false")
    assert run.rc == 0, run.output[-8000:]

    def client(name):
        return emulated_client(endpoint, name)

    leftovers = {
        "vpcs": [v["VpcId"] for v in client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]],
        "eks clusters": client("eks").list_clusters()["clusters"],
        "iam roles": [
            r["RoleName"]
            for r in client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith("ml-platform")
        ],
        "iam oidc providers": client("iam").list_open_id_connect_providers()[
            "OpenIDConnectProviderList"
        ],
        "ecr repositories": [
            r["repositoryName"] for r in client("ecr").describe_repositories()["repositories"]
        ],
        "secrets": [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]],
        "kms keys": [
            k["KeyId"]
            for k in client("kms").list_keys()["Keys"]
            if client("kms").describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
            not in ("PendingDeletion",)
        ],
    }
    assert {k: v for k, v in leftovers.items() if v} == {}

    again = site["play"]("playbooks/teardown.yml")
    assert again.rc == 0, again.output[-4000:]
    assert "Nothing to tear down" in again.output
    status = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "bin/aws-emulator",
            "status",
            "--state-dir",
            str(site["build"] / "aws"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(status.stdout)["running"] is False, "teardown left the emulator running"
