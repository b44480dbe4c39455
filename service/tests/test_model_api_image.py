"""The container image, built and run for real (needs a Docker engine; started here if possible).

Images cannot be pulled on the build machines, so the base image is made from Debian packages by
scripts/build-base-image.sh, and Python wheels are served to the build from a local wheelhouse
(pip download on the host, whose TLS trust store the build containers do not share).

Nothing here depends on the engine's bridge network, which a freshly installed engine may not
have set up yet (issue 13: its gateway address came back empty on a fresh machine's first run):
the build and the container use the host's network, the wheels are served on 127.0.0.1, and a
dockerd started by this module runs without a bridge or iptables rules at all.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_api_testing import GOOD_ROW, KEY

pytestmark = [pytest.mark.slow, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE_SCRIPT = REPO / "scripts" / "build-base-image.sh"
DOCKER_ENV = {**os.environ, "DOCKER_BUILDKIT": "0"}  # no buildx plugin here: the classic builder
LOOPBACK = "127.0.0.1"


def base_image_tag() -> str:
    """The base image's tag names the script that builds it, so a changed script rebuilds it."""
    if tag := os.environ.get("MODEL_API_TEST_BASE_IMAGE"):
        return tag
    digest = hashlib.sha256(BASE_IMAGE_SCRIPT.read_bytes()).hexdigest()[:12]
    return f"model-api-base:bookworm-{digest}"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        env=DOCKER_ENV,
    )


def engine_answers() -> bool:
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Use the running engine, or start dockerd for this session and stop it afterwards.

    The dockerd started here has no default bridge and sets no iptables rules: everything below
    runs on the host network, so a first start on a fresh machine has nothing to race with.
    """
    if shutil.which("docker") is None:
        pytest.skip("docker CLI is not installed")
    if engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        pytest.skip("no Docker engine is running and dockerd cannot be started (needs root)")
    state = tmp_path_factory.mktemp("dockerd")
    data_root = os.environ.get("MODEL_API_TEST_DOCKER_DATA_ROOT", "/var/lib/docker")
    log_path = state / "dockerd.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [dockerd, "--data-root", data_root, "--pidfile", str(state / "docker.pid"),
             "--bridge=none", "--iptables=false"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None and not engine_answers():
        time.sleep(0.5)
    if proc.poll() is not None or not engine_answers():
        proc.terminate()
        proc.wait(30)
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-8:])
        pytest.skip(f"dockerd could not be started on this machine; its last log lines:\n{tail}")
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def build_tool_pins() -> list[str]:
    """The build stage's setuptools/wheel pins, read from the Dockerfile (one source of truth)."""
    text = (REPO / "Dockerfile").read_text()
    return re.findall(r"\b(?:setuptools|wheel)==[\w.]+", text)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wheelhouse")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "-d",
         str(target), "-r", str(REPO / "service" / "constraints.txt"), *build_tool_pins()],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"cannot download the runtime wheels: {result.stderr[-2000:]}"
    return target


@pytest.fixture(scope="session")
def wheel_server(wheelhouse: Path) -> Iterator[str]:
    """Serve the wheelhouse on loopback for pip --find-links (the build uses the host network)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(wheelhouse))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = f"{LOOPBACK}:{server.server_address[1]}"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", address), address
    yield address
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def image(docker_engine: None, wheel_server: str) -> Iterator[str]:
    base_tag = base_image_tag()
    base = subprocess.run(
        [str(BASE_IMAGE_SCRIPT), base_tag],
        capture_output=True, text=True, timeout=1800, check=False, env=DOCKER_ENV,
    )  # fmt: skip
    assert base.returncode == 0, f"cannot build the Debian base image: {base.stderr[-2000:]}"
    tag = f"model-api:pytest-{uuid.uuid4().hex[:8]}"
    build = docker(
        "build", "--quiet", "--tag", tag, "--network", "host",
        "--build-arg", f"BASE_IMAGE={base_tag}",
        "--build-arg", "PIP_NO_INDEX=1",
        "--build-arg", f"PIP_FIND_LINKS=http://{wheel_server}/",
        "--build-arg", f"PIP_TRUSTED_HOST={LOOPBACK}",
        "--build-arg", "GIT_SHA=pytest",
        str(REPO),
        timeout=1200, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    try:
        yield tag
    finally:
        docker("rmi", "--force", tag, check=False)


@pytest.fixture
def container(image: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o755)
    secrets.chmod(0o755)  # the container user (10001) must be able to read the mount
    keys = secrets / "api-keys.json"
    keys.write_text(json.dumps({"keys": [KEY]}))
    keys.chmod(0o644)
    name = f"model-api-test-{uuid.uuid4().hex[:8]}"
    port = free_loopback_port()
    docker(
        "run", "--detach", "--name", name, "--network", "host",
        "--read-only", "--tmpfs", "/tmp",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--volume", f"{secrets}:/var/run/secrets/model-api:ro",
        "--env", "MODEL_API_DRAIN_SECONDS=1",
        "--env", f"MODEL_API_HOST={LOOPBACK}",
        "--env", f"MODEL_API_PORT={port}",
        image,
    )  # fmt: skip
    try:
        yield name, f"http://{LOOPBACK}:{port}"
    finally:
        docker("rm", "--force", name, check=False)


def http_json(url: str, body: object = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_ready(base: str, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http_json(base + "/readyz")[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.25)
    logs = docker("logs", name, check=False)
    raise AssertionError(f"container never became ready:\n{logs.stdout}{logs.stderr}")


def test_image_runs_read_only_as_non_root_and_predicts(container: tuple[str, str]) -> None:
    name, base = container
    wait_ready(base, name)
    assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
    state = json.loads(docker("inspect", name).stdout)[0]
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert state["Config"]["User"] == "10001:10001"
    status, body = http_json(base + "/v1/predict", {"instances": [GOOD_ROW]}, key=KEY)
    assert status == 200, body
    assert len(body["predictions"]) == 1
    assert body["model_version"]
    assert http_json(base + "/v1/predict", {"instances": [GOOD_ROW]}, key="wrong")[0] == 401
    assert http_json(base + "/version")[1]["git_sha"] == "pytest"
    # SIGTERM: drain (1 s here), then exit 0.
    docker("stop", "--time", "30", name, timeout=60)
    state = json.loads(docker("inspect", name).stdout)[0]
    assert state["State"]["ExitCode"] == 0, docker("logs", name).stdout


def test_image_metadata_and_contents(image: str) -> None:
    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/opt/venv/bin/model-api"]
    assert config["Labels"]["org.opencontainers.image.title"] == "model-api"
    assert config["Labels"]["org.opencontainers.image.revision"] == "pytest"
    probe = docker(
        "run", "--rm", "--network", "none", "--read-only", "--entrypoint", "/bin/sh", image, "-c",
        "for t in gcc cc c++ make ld /opt/venv/bin/pip; do command -v $t; done; true",
    )  # fmt: skip
    assert probe.stdout.strip() == "", f"build tools in the runtime image: {probe.stdout}"
