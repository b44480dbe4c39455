"""The rendered Alertmanager configuration: valid, each severity routed to its Slack receiver,
webhook URLs read from the mounted Secret's files only."""

from __future__ import annotations

import subprocess

import pytest
import yaml

pytestmark = pytest.mark.slow

SECRET_DIR = "/etc/alertmanager/secrets/alertmanager-slack-webhooks"  # CONTRIBUTING.md


@pytest.fixture(scope="module")
def shipped_config(platform_render):
    path = platform_render.shipped.alertmanager_config
    assert path, "monitoring rendered no monitoring/alertmanager/alertmanager.yml"
    return path


def amtool(system_tools, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [system_tools["amtool"], *args], capture_output=True, text=True, check=False
    )


def test_amtool_accepts_the_configuration(system_tools, shipped_config, platform_render):
    for path in (shipped_config, platform_render.suite.alertmanager_config):
        done = amtool(system_tools, "check-config", str(path))
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            ["severity=critical", "alertname=ModelApiHighErrorRate", "namespace=model-api"],
            "slack-critical",
        ),
        (
            ["severity=warning", "alertname=ModelApiHighLatency", "namespace=model-api"],
            "slack-warning",
        ),
        (["severity=critical", "alertname=ArgoRolloutDegraded"], "slack-critical"),
        (["severity=page", "alertname=Something"], None),  # unknown severity: the default
        (["alertname=NoSeverity"], None),
    ],
)
def test_routes(system_tools, shipped_config, labels, expected):
    config = yaml.safe_load(shipped_config.read_text())
    want = expected or config["route"]["receiver"]
    done = amtool(
        system_tools,
        "config",
        "routes",
        "test",
        f"--config.file={shipped_config}",
        f"--verify.receivers={want}",
        *labels,
    )
    assert done.returncode == 0, f"{labels} -> {done.stdout.strip()} (want {want}) {done.stderr}"


def test_the_default_receiver_reaches_people(shipped_config):
    config = yaml.safe_load(shipped_config.read_text())
    default = config["route"]["receiver"]
    receiver = next(r for r in config["receivers"] if r["name"] == default)
    assert receiver.get("slack_configs"), f"default receiver {default} notifies nobody"


def test_webhook_urls_come_from_files_only(shipped_config):
    text = shipped_config.read_text()
    config = yaml.safe_load(text)
    assert "hooks.slack.com" not in text
    assert "slack_api_url" not in config.get("global", {})
    slack = {r["name"]: r["slack_configs"] for r in config["receivers"] if r.get("slack_configs")}
    assert set(slack) >= {"slack-critical", "slack-warning"}
    for name, configs in slack.items():
        for entry in configs:
            assert "api_url" not in entry, f"{name} has an inline api_url"
            key = name.removeprefix("slack-")
            assert entry["api_url_file"] == f"{SECRET_DIR}/{key}", name
            assert entry.get("send_resolved") is True, f"{name} never says resolved"


def test_the_stack_config_differs_only_in_secrets_dir_and_timers(shipped_config, platform_render):
    shipped = yaml.safe_load(shipped_config.read_text())
    suite = yaml.safe_load(platform_render.suite.alertmanager_config.read_text())
    for key in ("group_wait", "group_interval", "repeat_interval"):
        shipped["route"].pop(key)
        assert suite["route"].pop(key) in ("1s", "2s", "1m")
    for route in shipped["route"]["routes"] + suite["route"]["routes"]:
        route.pop("repeat_interval", None)
    secrets = str(platform_render.secrets_dir)
    for receiver in suite["receivers"]:
        for entry in receiver.get("slack_configs", []):
            assert entry["api_url_file"].startswith(secrets)
            entry["api_url_file"] = entry["api_url_file"].replace(
                secrets, "/etc/alertmanager/secrets"
            )
    assert suite == shipped
