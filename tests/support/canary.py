"""A local canary stack: model-api versions, Prometheus, Alertmanager and a Slack-like receiver.

Used by the integration suite (tests/integration/) and the demo (scripts/demo_canary.py). Every
process listens on 127.0.0.1 only and is started in its own process group; ``CanaryStack.stop``
ends every group (SIGTERM, then SIGKILL) and ``CanaryStack.leftovers`` proves none is left.

Pieces:
- ``render_roles``: runs tests/integration/render.yml (the roles as shipped, and for the stack);
- ``extract``: PrometheusRule specs -> rule files ``<name>.rules.yml``, AnalysisTemplates;
- ``shorten_rule_groups``: the suite's shortening of alert rules (``for`` and range windows;
  never applied to analysis queries -- Alertmanager timers are shortened with role variables);
- ``CanaryStack``: start/stop the processes (Prometheus alone too, to emulate its restart), query
  Prometheus (module_utils/prometheus.py, the logic of library/prometheus_query.py), judge
  AnalysisTemplates (scripts/argo_expr.py);
- ``AnalysisRunEmulator``: an AnalysisRun measured on the controller's schedule (interval, the
  10 s error retry, the metric's limits) against the real Prometheus;
- ``LoadGenerator``: a bounded closed-loop aiohttp client (fixed count and duration);
- ``detection_bound``: the time to detect a failing canary with a given set of intervals.

CLI:
  python scripts/canary_stack.py bound [--render-dir DIR]   # shipped intervals -> computed bound
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from module_utils import prometheus as prom  # the logic of library/prometheus_query.py
from tests.support import argo_expr

REPO_ROOT = Path(__file__).resolve().parents[2]

VENV_BIN = REPO_ROOT / ".venv" / "bin"
PROMETHEUS = os.environ.get("PLATFORM_PROMETHEUS_BIN", "/usr/bin/prometheus")
ALERTMANAGER = os.environ.get("PLATFORM_ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager")
RENDER_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "render.yml"
RENDER_INVENTORY = REPO_ROOT / "tests" / "integration" / "inventory.yml"
SLACK_SECRET_NAME = "alertmanager-slack-webhooks"
NAMESPACE = "model-api"
# A valid prediction for the packaged model (8 features).
PREDICTION = {"instances": [[0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 3.0, 0.25]]}


# ---------------------------------------------------------------------------------- durations
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}


def seconds(duration: str | int | float | None) -> float:
    """A Prometheus/Go duration ('1m30s', '5m', '250ms') or a number of seconds, as seconds."""
    if duration is None or duration == "":
        return 0.0
    if isinstance(duration, int | float):
        return float(duration)
    text = str(duration).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


# ------------------------------------------------------------------------- shortening transform
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")


@dataclass(frozen=True)
class Shortening:
    """How the suite shortens alert rules: ``for`` capped at for_, range windows at window."""

    for_: str = "5s"
    window: str = "15s"
    subquery_step: str = "1s"


SUITE_SHORTENING = Shortening()


def shorten_expr(expr: str, shortening: Shortening = SUITE_SHORTENING) -> str:
    """Cap every range selector ``[5m]`` and subquery ``[1h:5m]`` at the shortened window."""
    cap = seconds(shortening.window)

    def replace(m: re.Match[str]) -> str:
        window = m.group(1) if seconds(m.group(1)) <= cap else shortening.window
        if ":" not in m.group(0):
            return f"[{window}]"
        step = m.group(2)
        if step and seconds(step) > seconds(shortening.subquery_step):
            step = shortening.subquery_step
        return f"[{window}:{step or ''}]"

    return _RANGE.sub(replace, expr)


def shorten_rule_groups(
    groups: list[dict[str, Any]], shortening: Shortening = SUITE_SHORTENING
) -> list[dict[str, Any]]:
    """A copy of Prometheus rule groups with ``for``/``keep_firing_for`` capped at
    shortening.for_, range windows capped at shortening.window and group intervals dropped
    (the suite's evaluation_interval applies). Only for rule files; analysis queries stay as
    deployed."""
    out = copy.deepcopy(groups)
    cap = seconds(shortening.for_)
    for group in out:
        group.pop("interval", None)
        for rule in group.get("rules", []):
            rule["expr"] = shorten_expr(str(rule["expr"]), shortening)
            for key in ("for", "keep_firing_for"):
                if key in rule and seconds(rule[key]) > cap:
                    rule[key] = shortening.for_
    return out


# ------------------------------------------------------------------------------ render/extract
def render_roles(
    roles: Iterable[str],
    shipped_dir: Path,
    stack_dir: Path,
    secrets_dir: Path,
    env: dict[str, str] | None = None,
    log_file: Path | None = None,
) -> None:
    """Run tests/integration/render.yml: the roles as shipped and for the local stack."""
    extra = {
        "integration_shipped_dir": str(shipped_dir),
        "integration_stack_dir": str(stack_dir),
        "integration_secrets_dir": str(secrets_dir),
        "integration_roles": list(roles),
    }
    run_env = dict(os.environ if env is None else env)
    run_env["PATH"] = f"{VENV_BIN}{os.pathsep}{run_env.get('PATH', '')}"
    run_env.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))
    run_env.setdefault(
        "PLATFORM_CRD_SCHEMA_LOCATION", str(REPO_ROOT.parent / "shared" / "crd-schemas")
    )
    command = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(RENDER_INVENTORY),
        str(RENDER_PLAYBOOK),
        "-e",
        json.dumps(extra),
    ]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=run_env, capture_output=True, text=True, check=False
    )
    if log_file:
        log_file.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"rendering {list(roles)} failed (rc {done.returncode}):\n{tail}")


def roles_with_kinds(kinds: Iterable[str] = ("PrometheusRule", "AnalysisTemplate")) -> list[str]:
    """Roles whose templates define any of these kinds (the roles the suite must render)."""
    found = []
    pattern = re.compile(r"^kind:\s*(" + "|".join(kinds) + r")\s*$", re.MULTILINE)
    for role in sorted((REPO_ROOT / "roles").iterdir()):
        templates = role / "templates"
        if templates.is_dir() and any(
            pattern.search(p.read_text(errors="replace")) for p in templates.rglob("*.j2")
        ):
            found.append(role.name)
    return found


def rendered_objects(render_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every object in <render_dir>/<component>/manifests/*.yaml."""
    out = []
    for path in sorted(render_dir.glob("*/manifests/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                out.append((path, doc))
    return out


@dataclass
class Rendered:
    rule_files: dict[str, Path]  # PrometheusRule name -> <name>.rules.yml
    groups: dict[str, list[dict[str, Any]]]  # PrometheusRule name -> spec.groups (as shipped)
    analysis_templates: dict[str, dict[str, Any]]  # name -> object
    alertmanager_config: Path | None


def extract(render_dir: Path, rules_dir: Path, shortening: Shortening | None = None) -> Rendered:
    """Write each rendered PrometheusRule's groups to rules_dir/<name>.rules.yml (shortened
    when asked) and collect the AnalysisTemplates and the standalone alertmanager.yml."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    rule_files: dict[str, Path] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    templates: dict[str, dict[str, Any]] = {}
    for _path, obj in rendered_objects(render_dir):
        kind, name = obj.get("kind"), obj.get("metadata", {}).get("name")
        if kind == "PrometheusRule":
            spec_groups = obj.get("spec", {}).get("groups", [])
            groups[name] = spec_groups
            written = shorten_rule_groups(spec_groups, shortening) if shortening else spec_groups
            target = rules_dir / f"{name}.rules.yml"
            target.write_text(yaml.safe_dump({"groups": written}, sort_keys=False))
            rule_files[name] = target
        elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            templates[name] = obj
    am = render_dir / "monitoring" / "alertmanager" / "alertmanager.yml"
    return Rendered(rule_files, groups, templates, am if am.is_file() else None)


def write_slack_secrets(secrets_dir: Path, urls: dict[str, str]) -> Path:
    """The mounted Secret as files: <dir>/alertmanager-slack-webhooks/<severity> = URL."""
    folder = secrets_dir / SLACK_SECRET_NAME
    folder.mkdir(parents=True, exist_ok=True)
    for key, url in urls.items():
        target = folder / key
        target.write_text(url)
        target.chmod(0o600)
    return folder


# ------------------------------------------------------------------------------- the receiver
@dataclass
class Notification:
    received_at: float  # time.monotonic()
    path: str  # /critical or /warning: which Slack webhook was called
    body: dict[str, Any]

    @property
    def receiver(self) -> str:
        return self.path.strip("/")

    @property
    def text(self) -> str:
        """Everything a person reads in Slack: text, attachment titles and texts."""
        parts = [str(self.body.get("text") or "")]
        for att in self.body.get("attachments") or []:
            parts += [str(att.get(k) or "") for k in ("pretext", "title", "text", "fallback")]
        return "\n".join(p for p in parts if p)

    @property
    def status(self) -> str:
        title = " ".join(str(a.get("title", "")) for a in self.body.get("attachments") or [])
        return "resolved" if "RESOLVED" in title.upper() else "firing"


class WebhookReceiver:
    """Slack-compatible incoming webhook on 127.0.0.1: records each POST, answers ``ok``."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                with receiver._lock:
                    receiver.notifications.append(Notification(time.monotonic(), self.path, body))
                    receiver._lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def wait_for(
        self, predicate: Callable[[Notification], bool], timeout: float
    ) -> Notification | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for n in self.notifications:
                    if predicate(n):
                        return n
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(min(remaining, 0.5))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


# ------------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Managed:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pgid(self) -> int:
        return self.popen.pid  # started with start_new_session: the leader's pid is the group

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class ServiceVersion:
    """One model-api process, scraped as one pod of a Rollout's ReplicaSet."""

    name: str  # e.g. stable, canary
    service: (
        str  # the Service its ServiceMonitor scrapes: the root Service, model-api, for every pod
    )
    pod_hash: str  # rollouts-pod-template-hash
    port: int
    api_key: str
    keys_file: Path
    fault_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pod(self) -> str:
        return f"model-api-{self.pod_hash}-{self.name[:5]}"

    def target_labels(self) -> dict[str, str]:
        """What the ServiceMonitor gives the target in the cluster (CONTRIBUTING.md)."""
        return {
            "job": self.service,
            "namespace": NAMESPACE,
            "service": self.service,
            "pod": self.pod,
            "container": "model-api",
            "endpoint": "http",
            "rollouts_pod_template_hash": self.pod_hash,
        }


@dataclass
class CanaryStack:
    """The processes of one run. Use as a context manager, or call stop() in a finalizer."""

    workdir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: list[Managed] = field(default_factory=list)
    versions: dict[str, ServiceVersion] = field(default_factory=dict)
    receiver: WebhookReceiver | None = None
    prometheus_url: str = ""
    alertmanager_url: str = ""
    _stopped_groups: list[int] = field(default_factory=list)

    def __enter__(self) -> CanaryStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- processes
    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Managed:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env or self.env,
                cwd=self.workdir,
                start_new_session=True,  # own process group: stop() ends it and its children
            )
        managed = Managed(name, popen, log_path)
        self.processes.append(managed)
        return managed

    def _wait_ready(self, managed: Managed, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if managed.popen.poll() is not None:
                raise RuntimeError(
                    f"{managed.name} exited with {managed.popen.returncode}:\n{managed.log_tail()}"
                )
            with contextlib.suppress(OSError):
                if _get(url, timeout=1.0)[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"{managed.name} not ready at {url} in {timeout}s:\n{managed.log_tail()}"
        )

    def start_service(
        self,
        name: str,
        service: str,
        pod_hash: str,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
    ) -> ServiceVersion:
        """A model-api process with its own API key file and fault file (faults via the file,
        so set_fault/clear_fault change them without a restart)."""
        folder = self.workdir / f"service-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        api_key = f"{name}-key-{os.urandom(6).hex()}"
        keys_file = folder / "api-keys.json"
        keys_file.write_text(json.dumps({"keys": [api_key]}))
        version = ServiceVersion(
            name, service, pod_hash, free_port(), api_key, keys_file, folder / "fault.json"
        )
        self.set_fault(version, error_rate, latency_ms)
        env = dict(self.env)
        env.update(
            {
                "MODEL_API_HOST": "127.0.0.1",
                "MODEL_API_PORT": str(version.port),
                "MODEL_API_API_KEYS_FILE": str(keys_file),
                "MODEL_API_FAULT_FILE": str(version.fault_file),
                "MODEL_API_FILE_CHECK_INTERVAL_SECONDS": "0.2",
                "MODEL_API_ACCESS_LOG_ENABLED": "false",
                "MODEL_API_LOG_LEVEL": "WARNING",
                "MODEL_API_DRAIN_SECONDS": "0",
                "MODEL_API_SHUTDOWN_TIMEOUT_SECONDS": "2",
                "GIT_SHA": pod_hash,
            }
        )
        managed = self._spawn(f"model-api-{name}", [str(VENV_BIN / "model-api")], env)
        self._wait_ready(managed, f"{version.url}/readyz")
        self.versions[name] = version
        return version

    @staticmethod
    def set_fault(version: ServiceVersion, error_rate: float, latency_ms: float = 0.0) -> None:
        """Write the fault file atomically (the service re-reads it within 0.2 s)."""
        tmp = version.fault_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"error_rate": error_rate, "latency_ms": latency_ms}))
        tmp.replace(version.fault_file)

    def clear_fault(self, version: ServiceVersion) -> None:
        self.set_fault(version, 0.0, 0.0)

    def start_receiver(self) -> WebhookReceiver:
        self.receiver = WebhookReceiver()
        return self.receiver

    def start_alertmanager(self, config_file: Path) -> str:
        port = free_port()
        storage = self.workdir / "alertmanager-data"
        storage.mkdir(exist_ok=True)
        managed = self._spawn(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={config_file}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port: nothing but the web port
                "--log.level=warn",
            ],
        )
        self.alertmanager_url = f"http://127.0.0.1:{port}"
        self._wait_ready(managed, f"{self.alertmanager_url}/-/ready")
        return self.alertmanager_url

    def prometheus_config(
        self,
        rule_files: Iterable[Path],
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
    ) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "evaluation_interval": evaluation_interval,
            },
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {
                    "job_name": "model-api",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{v.port}"], "labels": v.target_labels()}
                        for v in self.versions.values()
                    ],
                }
            ],
        }
        if self.alertmanager_url:
            host = self.alertmanager_url.removeprefix("http://")
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        return config

    def start_prometheus(
        self,
        rule_files: Iterable[Path],
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        port: int | None = None,
    ) -> str:
        """Start Prometheus (again, after stop_prometheus, with the same port and storage)."""
        port = port or free_port()
        config_file = self.workdir / "prometheus.yml"
        config = self.prometheus_config(rule_files, scrape_interval, evaluation_interval)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        storage = self.workdir / "prometheus-data"
        storage.mkdir(exist_ok=True)
        managed = self._spawn(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
        )
        self.prometheus_url = f"http://127.0.0.1:{port}"
        self._wait_ready(managed, f"{self.prometheus_url}/-/ready")
        return self.prometheus_url

    def stop_prometheus(self, timeout: float = 10.0) -> int:
        """Stop Prometheus alone (SIGTERM, like a pod being replaced); returns its port so
        start_prometheus(..., port=...) brings it back at the same address and storage."""
        port = int(self.prometheus_url.rsplit(":", 1)[1])
        for managed in [m for m in self.processes if m.name == "prometheus"]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(managed.pgid, signal.SIGTERM)
            try:
                managed.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.pgid, signal.SIGKILL)
                managed.popen.wait(timeout=5)
            self.processes.remove(managed)
            self._stopped_groups.append(managed.pgid)
        return port

    def stop(self, timeout: float = 10.0) -> None:
        """End every process group started here: SIGTERM, then SIGKILL after ``timeout``."""
        for managed in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(managed.pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for managed in reversed(self.processes):
            try:
                managed.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            if group_alive(managed.pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.pgid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    managed.popen.wait(timeout=5)
            self._stopped_groups.append(managed.pgid)
        self.processes.clear()
        if self.receiver:
            self.receiver.stop()
            self.receiver = None

    def listening(self) -> dict[str, list[str]]:
        """Each live process's listening TCP addresses (from /proc; Linux only)."""
        listeners = _tcp_listeners()
        out = {}
        for managed in self.processes:
            inodes = set()
            fd_dir = Path(f"/proc/{managed.popen.pid}/fd")
            for fd in fd_dir.iterdir() if fd_dir.is_dir() else []:
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
            out[managed.name] = sorted(listeners[i] for i in inodes if i in listeners)
        return out

    def leftovers(self) -> list[int]:
        """Process groups started by this stack that still have a live member (want: [])."""
        groups = [m.pgid for m in self.processes] + self._stopped_groups
        return [g for g in groups if group_alive(g)]

    # -- Prometheus and Alertmanager
    def query(self, promql: str) -> list[float] | float:
        """An instant query, its result shaped as Argo's Prometheus provider passes it to the
        conditions: a list of floats for a vector (empty when no series), a float for a scalar."""
        data = prom.instant_query(self.prometheus_url, promql, timeout=10)
        result_type, samples = prom.parse_result(data)
        values = [s["value"] for s in samples]
        return values[0] if result_type == "scalar" else values

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' active alerts (pending and firing)."""
        _status, body = _get(f"{self.prometheus_url}/api/v1/alerts")
        return json.loads(body)["data"]["alerts"]

    def alert_state(self, alertname: str) -> str:
        states = {a["state"] for a in self.alerts() if a["labels"].get("alertname") == alertname}
        return "firing" if "firing" in states else ("pending" if states else "inactive")

    def targets_up(self) -> int:
        values = self.query('count(up{job=~"model-api.*"} == 1)')
        return int(values[0]) if isinstance(values, list) and values else 0


def _tcp_listeners() -> dict[str, str]:
    """socket inode -> "address:port" of every listening TCP socket (IPv4 and IPv6)."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] != "0A":  # LISTEN
                    continue
                hex_addr, hex_port = fields[1].split(":")
                raw = bytes.fromhex(hex_addr)
                if len(raw) == 4:
                    address = socket.inet_ntop(socket.AF_INET, raw[::-1])
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    address = socket.inet_ntop(socket.AF_INET6, words)
                out[fields[9]] = f"{address}:{int(hex_port, 16)}"
    return out


# ------------------------------------------------------------------------------------ analysis
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def template_args(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """The template's args with the given values (template defaults otherwise)."""
    args: dict[str, str] = {}
    for arg in template.get("spec", {}).get("args", []) or []:
        if "value" in arg:
            args[arg["name"]] = str(arg["value"])
    args.update(given)
    return args


def substitute_args(text: str, args: dict[str, str]) -> str:
    """Replace {{args.NAME}} as Argo does; a missing argument is an error (Argo refuses too)."""

    def replace(m: re.Match[str]) -> str:
        if m.group(1) not in args:
            raise KeyError(f"argument {m.group(1)!r} has no value")
        return args[m.group(1)]

    return _ARG.sub(replace, text)


@dataclass
class MetricVerdict:
    template: str
    metric: str
    query: str
    result: Any
    phase: str  # one measurement's phase (argo_expr.measurement_phase)
    success_condition: str
    failure_condition: str

    def line(self) -> str:
        shown = self.result
        if isinstance(shown, list):
            shown = "[" + ", ".join(f"{v:.4g}" for v in shown) + "]"
        return f"{self.template}/{self.metric}: result={shown} -> {self.phase}"


def prometheus_metrics(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m
        for m in template.get("spec", {}).get("metrics", [])
        if "prometheus" in m.get("provider", {})
    ]


def judge_template(
    stack: CanaryStack, name: str, template: dict[str, Any], args: dict[str, str]
) -> list[MetricVerdict]:
    """One measurement of each Prometheus metric of the template, judged by its conditions."""
    values = template_args(template, args)
    out = []
    for metric in prometheus_metrics(template):
        query = substitute_args(metric["provider"]["prometheus"]["query"], values)
        try:
            result: Any = stack.query(query)
            phase = argo_expr.metric_verdict(metric, result)
        except prom.PrometheusError as exc:
            result, phase = f"query error: {exc}", argo_expr.ERROR
        out.append(
            MetricVerdict(
                name,
                metric["name"],
                query,
                result,
                phase,
                metric.get("successCondition", ""),
                metric.get("failureCondition", ""),
            )
        )
    return out


def overall(verdicts: Iterable[MetricVerdict]) -> str:
    """The worst phase, in Argo's order (Error > Failed > Inconclusive > Successful)."""
    order = [argo_expr.SUCCESSFUL, argo_expr.INCONCLUSIVE, argo_expr.FAILED, argo_expr.ERROR]
    phases = [v.phase for v in verdicts]
    return max(phases, key=order.index) if phases else argo_expr.SUCCESSFUL


# ------------------------------------------------------------------------- analysis run emulator
@dataclass
class Measurement:
    at: float  # seconds after the run started
    phase: str
    result: Any


@dataclass
class MetricRun:
    template: str
    metric: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    phase: str = "Pending"

    @property
    def phases(self) -> list[str]:
        return [m.phase for m in self.measurements]

    def limits(self) -> dict[str, Any]:
        """The metric's limits as argo_expr.metric_phase takes them (controller defaults)."""
        metric = self.metric
        count = metric.get("count")
        return {
            "failure_limit": int(metric.get("failureLimit", 0)),
            "inconclusive_limit": int(metric.get("inconclusiveLimit", 0)),
            "consecutive_error_limit": int(
                metric.get("consecutiveErrorLimit", argo_expr.DEFAULT_CONSECUTIVE_ERROR_LIMIT)
            ),
            "count": int(count) if count is not None else None,
        }


class AnalysisRunEmulator:
    """One AnalysisRun of Prometheus metrics, measured on the controller's schedule against the
    stack's real Prometheus (argo-rollouts v1.9.0 analysis/analysis.go generateMetricTasks and
    assessMetricStatus): the first measurement after initialDelay, the next one interval after a
    measurement finished -- or ERROR_RETRY_SECONDS (10 s) after an Error, whatever the interval;
    a metric completes when argo_expr.metric_phase says so with its limits; the run ends at the
    first completed metric or after ``duration``. Runs in a thread (start/join) so a test can
    act on the stack meanwhile; ``on_event`` gets one line per measurement."""

    def __init__(
        self,
        stack: CanaryStack,
        templates: dict[str, dict[str, Any]],
        args: dict[str, str],
        duration: float,
        on_event: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.stack = stack
        self.args = args
        self.duration = duration
        self.on_event = on_event
        self.metrics = [
            MetricRun(name, metric)
            for name, template in templates.items()
            for metric in prometheus_metrics(template)
        ]
        self._templates = templates
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.started = 0.0

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def measure(self, run: MetricRun) -> Measurement:
        template = self._templates[run.template]
        query = substitute_args(
            run.metric["provider"]["prometheus"]["query"], template_args(template, self.args)
        )
        try:
            result: Any = self.stack.query(query)
            phase = argo_expr.metric_verdict(run.metric, result)
        except (prom.PrometheusError, OSError) as exc:
            result, phase = f"query error: {exc}", argo_expr.ERROR
        measurement = Measurement(self.elapsed(), phase, result)
        run.measurements.append(measurement)
        run.phase = argo_expr.metric_phase(run.phases, **run.limits())
        name = f"{run.template}/{run.metric['name']}"
        self.on_event(f"t={measurement.at}s {name}: {phase} -> metric {run.phase}")
        return measurement

    def run(self) -> None:
        self.started = time.monotonic()
        due = {id(r): seconds(r.metric.get("initialDelay")) for r in self.metrics}
        while not self._stop.is_set() and self.elapsed() < self.duration:
            pending = [r for r in self.metrics if r.phase in ("Pending", argo_expr.RUNNING)]
            if len(pending) < len(self.metrics):
                break  # a metric completed: the run is decided
            run = min(pending, key=lambda r: due[id(r)])
            wait = due[id(run)] - self.elapsed()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            measurement = self.measure(run)
            pause = (
                argo_expr.ERROR_RETRY_SECONDS
                if measurement.phase == argo_expr.ERROR
                else seconds(run.metric.get("interval") or argo_expr.ERROR_RETRY_SECONDS)
            )
            due[id(run)] = self.elapsed() + pause

    def start(self) -> AnalysisRunEmulator:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout if timeout is not None else self.duration + 30)

    def stop(self) -> None:
        self._stop.set()
        self.join()

    @property
    def phase(self) -> str:
        """The run's phase so far: the worst completed metric's, else Running."""
        order = [argo_expr.SUCCESSFUL, argo_expr.INCONCLUSIVE, argo_expr.FAILED, argo_expr.ERROR]
        done = [r.phase for r in self.metrics if r.phase in order]
        return max(done, key=order.index) if done else argo_expr.RUNNING


# ---------------------------------------------------------------------------------------- load
@dataclass
class LoadStats:
    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # transport errors (no HTTP status)


class LoadGenerator:
    """Closed-loop load: ``concurrency`` workers per target each send a valid prediction, await
    the answer, pause, repeat; stops after ``total`` requests or ``duration`` seconds, whichever
    comes first (or at stop()). Runs its own event loop in a thread."""

    def __init__(
        self,
        targets: list[ServiceVersion],
        total: int,
        duration: float,
        concurrency: int | dict[str, int] = 2,
        pause: float = 0.02,
    ) -> None:
        self.targets = targets
        self.total = total
        self.duration = duration
        # workers per target: an int for all, or {version name: workers}
        self.concurrency = (
            concurrency if isinstance(concurrency, dict) else {t.name: concurrency for t in targets}
        )
        self.pause = pause  # think time between a worker's requests: bounds the CPU it takes
        self.stats = {t.name: LoadStats() for t in targets}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LoadGenerator:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout if timeout is not None else self.duration + 30)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    async def _run(self) -> None:
        import aiohttp  # the project's .venv has it; imported here so the CLI needs less

        deadline = time.monotonic() + self.duration
        budget = [self.total]
        body = json.dumps(PREDICTION)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def worker(target: ServiceVersion) -> None:
                headers = {
                    "Authorization": f"Bearer {target.api_key}",
                    "Content-Type": "application/json",
                }
                stats = self.stats[target.name]
                while not self._stop.is_set() and time.monotonic() < deadline and budget[0] > 0:
                    budget[0] -= 1
                    stats.sent += 1
                    try:
                        async with session.post(
                            f"{target.url}/v1/predict", data=body, headers=headers
                        ) as resp:
                            await resp.read()
                            stats.by_status[resp.status] = stats.by_status.get(resp.status, 0) + 1
                    except (aiohttp.ClientError, TimeoutError):
                        stats.errors += 1
                    if self.pause:
                        await asyncio.sleep(self.pause)

            await asyncio.gather(
                *(worker(t) for t in self.targets for _ in range(self.concurrency.get(t.name, 0)))
            )


# ------------------------------------------------------------------------------- the timeline
def analysis_args(version: ServiceVersion) -> dict[str, str]:
    """The AnalysisTemplate args the Rollout passes, for a version of this stack."""
    return {
        "namespace": NAMESPACE,
        "service-name": version.service,
        "canary-hash": version.pod_hash,
    }


def error_rate_alerts(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """The shipped alerts on the service's 5xx ratio: name -> rule (as shipped)."""
    found = {}
    for groups in rendered.groups.values():
        for group in groups:
            for rule in group.get("rules", []):
                expr = str(rule.get("expr", ""))
                if rule.get("alert") and "model_api_requests_total" in expr and "5" in expr:
                    if re.search(r'status\s*=~?\s*"5', expr) or "error" in rule["alert"].lower():
                        found[rule["alert"]] = rule
    return found


def alertmanager_slack_sent(alertmanager_url: str) -> float:
    """Slack notifications Alertmanager sent successfully (from its own /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    _status, body = _get(f"{alertmanager_url}/metrics")
    sent = failed = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.labels.get("integration") != "slack":
                continue
            if sample.name == "alertmanager_notifications_total":
                sent += sample.value
            elif sample.name == "alertmanager_notifications_failed_total":
                failed += sample.value
    return sent - failed


def _mentions(notification: Notification, alertnames: Iterable[str]) -> bool:
    return any(name in notification.text for name in alertnames)


@dataclass
class Timeline:
    """One failing-canary run; times are seconds after the fault was switched on (t0)."""

    alertnames: list[str]
    analysis_failed: float | None = None
    alert_firing: float | None = None  # Prometheus reports the alert firing
    slack_firing: float | None = None
    fault_cleared: float | None = None
    slack_resolved: float | None = None
    failing_verdicts: list[MetricVerdict] = field(default_factory=list)
    firing: Notification | None = None
    resolved: Notification | None = None
    summary: str = ""  # the firing alert's summary as Prometheus rendered it
    load: dict[str, LoadStats] = field(default_factory=dict)


def run_failure_timeline(
    stack: CanaryStack,
    templates: dict[str, dict[str, Any]],
    canary: ServiceVersion,
    others: list[ServiceVersion],
    alertnames: Iterable[str],
    error_rate: float = 0.5,
    latency_ms: float = 600.0,
    poll: float = 1.0,
    timeout: float = 60.0,
    clear: bool = True,
    on_event: Callable[[str], None] = lambda _line: None,
) -> Timeline:
    """Switch the canary's fault on under load, then measure: analysis verdict Failed, alert
    firing, Slack message; clear the fault and wait for the resolved message. Without a local
    receiver (real Slack), a message counts as sent when Alertmanager's Slack counter grows."""
    names = sorted(alertnames)
    timeline = Timeline(names)
    receiver = stack.receiver
    sent_before = 0.0 if receiver else alertmanager_slack_sent(stack.alertmanager_url)
    stack.set_fault(canary, error_rate, latency_ms)
    time.sleep(0.3)  # the service re-reads its fault file every 0.2 s
    t0 = time.monotonic()
    on_event(f"t=0s fault on: {canary.name} answers {error_rate:.0%} 500s, +{latency_ms:.0f} ms")
    load = LoadGenerator(
        [canary, *others],
        total=200_000,
        duration=2 * timeout + 30,
        concurrency={canary.name: 8, **{o.name: 1 for o in others}},
        pause=0.05,
    ).start()

    def elapsed() -> float:
        return round(time.monotonic() - t0, 1)

    try:
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if timeline.analysis_failed is None:
                verdicts = [
                    v
                    for name, template in templates.items()
                    for v in judge_template(stack, name, template, analysis_args(canary))
                ]
                if overall(verdicts) == argo_expr.FAILED:
                    timeline.analysis_failed = elapsed()
                    timeline.failing_verdicts = verdicts
                    on_event(
                        f"t={elapsed()}s analysis Failed: " + "; ".join(v.line() for v in verdicts)
                    )
            if timeline.alert_firing is None:
                for alert in stack.alerts():
                    if alert["labels"].get("alertname") in names and alert["state"] == "firing":
                        timeline.alert_firing = elapsed()
                        timeline.summary = alert.get("annotations", {}).get("summary", "")
                        on_event(
                            f"t={elapsed()}s Prometheus: {alert['labels']['alertname']} firing"
                        )
                        break
            if timeline.slack_firing is None:
                if receiver:
                    n = receiver.wait_for(
                        lambda n: n.status == "firing" and _mentions(n, names), timeout=0
                    )
                    if n:
                        timeline.slack_firing, timeline.firing = elapsed(), n
                        on_event(f"t={elapsed()}s Slack {n.receiver}: {n.text}")
                elif timeline.alert_firing is not None and (
                    alertmanager_slack_sent(stack.alertmanager_url) > sent_before
                ):
                    timeline.slack_firing = elapsed()
                    on_event(f"t={elapsed()}s Alertmanager sent the message to Slack")
            if None not in (timeline.analysis_failed, timeline.slack_firing):
                break
            time.sleep(poll)
        if clear:
            stack.clear_fault(canary)
            timeline.fault_cleared = elapsed()
            on_event(f"t={elapsed()}s fault cleared on {canary.name}")
            sent_mark = 0.0 if receiver else alertmanager_slack_sent(stack.alertmanager_url)
            resolve_deadline = time.monotonic() + timeout
            while time.monotonic() < resolve_deadline:
                if receiver:
                    n = receiver.wait_for(
                        lambda n: n.status == "resolved" and _mentions(n, names), timeout=poll
                    )
                    if n:
                        timeline.slack_resolved, timeline.resolved = elapsed(), n
                        on_event(f"t={elapsed()}s Slack {n.receiver}: {n.text}")
                        break
                else:
                    if alertmanager_slack_sent(stack.alertmanager_url) > sent_mark and not any(
                        a["labels"].get("alertname") in names for a in stack.alerts()
                    ):
                        timeline.slack_resolved = elapsed()
                        on_event(f"t={elapsed()}s Alertmanager sent the resolved message to Slack")
                        break
                    time.sleep(poll)
    finally:
        load.stop()
        timeline.load = load.stats
    return timeline


# ----------------------------------------------------------------------------- detection time
@dataclass
class Intervals:
    """The settings that decide how fast a failing canary is detected."""

    scrape: float
    evaluation: float
    alert_for: float
    group_wait: float
    analysis_initial_delay: float
    analysis_interval: float
    analysis_failure_limit: int
    source: str = ""


def detection_bound(iv: Intervals) -> dict[str, tuple[float, float]]:
    """(best, worst) seconds from a version starting to fail until the analysis verdict turns
    Failed, and until the Slack message is sent, assuming the failure is strong enough that a
    window holding a few failing scrapes crosses the threshold (a rate needs 2 samples).

    analysis: the first measurement at initialDelay, one every interval; the metric fails at the
      (failureLimit+1)-th failed measurement; data needs 2 scrapes (worst: one more interval).
    alert: 2 scrapes, then the next rule evaluation makes it pending; firing ``for`` later (at
      the first evaluation after it); Prometheus sends at once; Alertmanager waits group_wait
      for a new group.
    """
    data_best, data_worst = iv.scrape, 2 * iv.scrape
    a_first = iv.analysis_initial_delay
    a_best = max(a_first, data_best) + iv.analysis_failure_limit * iv.analysis_interval
    a_worst = (
        max(a_first, data_worst) + iv.analysis_interval
    ) + iv.analysis_failure_limit * iv.analysis_interval
    pending_best, pending_worst = data_best, data_worst + iv.evaluation
    fire_best = pending_best + iv.alert_for
    fire_worst = pending_worst + iv.alert_for + iv.evaluation
    return {
        "analysis_failed": (a_best, a_worst),
        "alert_firing": (fire_best, fire_worst),
        "slack_message": (fire_best + iv.group_wait, fire_worst + iv.group_wait),
    }


def shipped_intervals(shipped_dir: Path, alertname: str | None = None) -> Intervals:
    """The intervals the platform ships, read from the as-shipped render."""
    values_files = list(shipped_dir.glob("monitoring/helm/*.values.yaml"))
    values = yaml.safe_load(values_files[0].read_text()) if values_files else {}
    pspec = (values.get("prometheus") or {}).get("prometheusSpec") or {}
    scrape = seconds(pspec.get("scrapeInterval") or "30s")
    # The Prometheus Operator's default evaluationInterval is 30s when the chart leaves it empty.
    evaluation = seconds(pspec.get("evaluationInterval") or "30s")
    am = yaml.safe_load(
        (shipped_dir / "monitoring" / "alertmanager" / "alertmanager.yml").read_text()
    )
    group_wait = seconds(am["route"].get("group_wait", "30s"))
    rendered = extract(shipped_dir, Path(tempfile.mkdtemp(prefix="rules-")))
    alert_for = 0.0
    for groups in rendered.groups.values():
        for group in groups:
            for rule in group.get("rules", []):
                if rule.get("alert") and (alertname is None or rule["alert"] == alertname):
                    alert_for = seconds(rule.get("for", 0))
    delay, interval, limit = 0.0, 60.0, 0
    for template in rendered.analysis_templates.values():
        for metric in prometheus_metrics(template):
            if metric.get("count") is not None:
                continue  # the promotion gate (an analysis step); the background run aborts first
            delay = max(delay, seconds(metric.get("initialDelay", 0)))
            interval = seconds(metric.get("interval", "60s"))
            limit = int(metric.get("failureLimit", 0))
    return Intervals(scrape, evaluation, alert_for, group_wait, delay, interval, limit, "shipped")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    bound = sub.add_parser("bound", help="compute the detection bound for the shipped intervals")
    bound.add_argument("--render-dir", type=Path, help="an as-shipped render (default: render now)")
    bound.add_argument(
        "--alert", default="ModelApiHighErrorRate", help="the alert to time (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.command == "bound":
        render_dir = args.render_dir
        if render_dir is None:
            work = Path(tempfile.mkdtemp(prefix="canary-bound-"))
            render_dir = work / "shipped"
            render_roles(roles_with_kinds(), render_dir, work / "stack", work / "secrets")
        iv = shipped_intervals(render_dir, args.alert)
        print(
            json.dumps({"intervals": iv.__dict__, "bound_seconds": detection_bound(iv)}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
