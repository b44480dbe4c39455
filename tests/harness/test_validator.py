"""The manifest validator: strict for built-in kinds, CRD schemas from a folder or URL template."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from manifest_validation import (
    ManifestValidationError,
    ManifestValidator,
    SchemaLocationError,
    normalise_kubernetes_version,
)
from tests.support import REPO_ROOT, crd_schema_location

FIXTURES = Path(__file__).parent / "fixtures"
CLI = REPO_ROOT / "bin" / "validate-manifests"


@pytest.fixture(scope="module")
def validator():
    return ManifestValidator("1.33", crd_schema_location())


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_valid_objects_of_every_kind_the_platform_uses_are_accepted(validator):
    count, problems = validator.validate_paths([FIXTURES / "valid"])
    kinds = {
        obj["kind"]
        for f in (FIXTURES / "valid").glob("*.yaml")
        for obj in yaml.safe_load_all(f.read_text())
    }
    assert problems == []
    assert count == 19
    assert {
        "Rollout",
        "AnalysisTemplate",
        "ServiceMonitor",
        "PrometheusRule",
        "ClusterIssuer",
        "Certificate",
        "ClusterSecretStore",
        "ExternalSecret",
        "IngressClassParams",
        "Ingress",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
    } <= kinds


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "rollout-misspelled.yaml",
            "Rollout/model-api in model-api: field spec.strategy.canary.stepss: unknown field",
        ),
        (
            "deployment-wrong-type.yaml",
            "Deployment/example in default: field spec.replicas: 'three' is not of type 'integer'",
        ),
        (
            "unknown-kind.yaml",
            "Gadget/mystery: field kind: no schema for custom resource Gadget (example.com/v1)",
        ),
    ],
)
def test_invalid_objects_are_rejected_naming_file_object_and_field(fixture, expected):
    path = FIXTURES / "invalid" / fixture
    result = run_cli("--schema-location", crd_schema_location(), path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"INVALID {path} (document 1) {expected}" in result.stdout


def test_unknown_top_level_field_of_a_custom_resource_is_an_error(validator):
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "t"},
        "spec": {"metrics": []},
        "specs": {},
    }
    problems = validator.validate_object(obj)
    assert [p.field for p in problems] == ["specs"]


def test_a_builtin_kind_unknown_to_the_kubernetes_version_is_an_error(validator):
    obj = {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "old"}}
    problems = validator.validate_object(obj)
    assert len(problems) == 1
    assert "no schema for Ingress in extensions/v1beta1 for Kubernetes 1.33" in str(problems[0])


def test_label_values_must_be_strings(validator):
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"grafana_dashboard": 1}},
    }
    problems = validator.validate_object(obj)
    assert [p.field for p in problems] == ["metadata.labels.grafana_dashboard"]


def test_every_problem_in_an_object_is_reported_not_only_the_first(validator):
    obj = yaml.safe_load((FIXTURES / "invalid" / "deployment-wrong-type.yaml").read_text())
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    fields = {p.field for p in validator.validate_object(obj)}
    assert fields == {"spec.replicas", "spec.template.spec.containers[0].imagePullPolicyy"}


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("/does/not/exist", "is not an existing folder"),
        ("ftp://schemas.example.com/{group}", "unsupported scheme"),
        ("https://schemas.example.com/{group}/{kind}_{release}.json", "unknown placeholders"),
    ],
)
def test_a_bad_schema_location_fails_at_once_with_a_clear_message(location, message):
    with pytest.raises(SchemaLocationError, match=message):
        ManifestValidator("1.33", location)
    result = run_cli("--schema-location", location, FIXTURES / "valid")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_schema_url_names_the_url(tmp_path):
    v = ManifestValidator("1.33", "http://127.0.0.1:9/{group}/{kind}_{version}.json")
    with pytest.raises(SchemaLocationError, match=r"cannot reach .*127\.0\.0\.1:9/argoproj\.io"):
        v.validate_paths([FIXTURES / "invalid" / "rollout-misspelled.yaml"])


@pytest.mark.parametrize("version", ["1.33", "v1.33", "1.33.4"])
def test_kubernetes_versions_are_normalised(version):
    assert normalise_kubernetes_version(version) == "1.33"


@pytest.mark.parametrize("version", ["1", "latest", "1.99"])
def test_unsupported_kubernetes_versions_are_refused(version):
    with pytest.raises(ManifestValidationError, match=r"1\.99|not of the form"):
        ManifestValidator(version, crd_schema_location())


@pytest.fixture()
def schema_server():
    """Serves the CRD schema folder over HTTP on 127.0.0.1, like the public catalog."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=crd_schema_location()
    )
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_template_location_validates_like_a_folder(schema_server):
    template = schema_server + "/{group}/{kind}_{version}.json"
    count, problems = ManifestValidator("1.33", template).validate_paths([FIXTURES / "valid"])
    assert (count, problems) == (19, [])
    result = run_cli("--schema-location", template, FIXTURES / "invalid" / "unknown-kind.yaml")
    assert result.returncode == 1
    assert (
        "no schema for custom resource Gadget (example.com/v1) at "
        f"{schema_server}/example.com/gadget_v1.json" in result.stdout
    )
