"""A stand-in Kubernetes API server for tests of modules and plays that talk to a cluster.

- ``JsonHandler``: an HTTP handler base that answers JSON (``send_json``) and logs nothing;
- ``status``: a ``Status`` object as the API server sends with a refusal (code, reason, message);
- ``api_resource``, ``discovery``: what discovery serves (an ``APIResourceList`` entry; the
  documents by path for the core resources and the API groups the test's cluster serves);
- ``serve``: a handler served on 127.0.0.1 in a thread for the ``with`` block, its URL yielded;
- ``write_kubeconfig`` / ``cluster``: a kubeconfig with a bearer token for that server.

Only what each test's handler serves is answered; what a real API server adds (admission,
validation against the schema, watch) is not emulated here.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml

TOKEN = "t0ken"


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """Base of the stand-in handlers: JSON answers, no request log on stderr."""

    def send_json(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def status(code: int, reason: str, message: str) -> tuple[int, dict]:
    """(code, body) of the API server's refusal: a metav1.Status with status Failure."""
    return code, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def api_resource(name: str, kind: str, namespaced: bool, singular: str, **extra) -> dict:
    """One resource of an APIResourceList, with the usual verbs."""
    return {
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        **extra,
    }


@contextlib.contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve handler on 127.0.0.1 (a free port) for the with block; yields the server's URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, server: str, token: str = TOKEN, user: str = "admin") -> Path:
    """A kubeconfig whose current context reaches server with a bearer token; returns path."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "stand-in", "cluster": {"server": server}}],
                "users": [{"name": user, "user": {"token": token}}],
                "contexts": [
                    {"name": "stand-in", "context": {"cluster": "stand-in", "user": user}}
                ],
                "current-context": "stand-in",
            }
        )
    )
    return path


@contextlib.contextmanager
def cluster(
    directory: Path,
    handler: type[http.server.BaseHTTPRequestHandler],
    token: str = TOKEN,
    user: str = "admin",
) -> Iterator[Path]:
    """Serve handler for the with block; yields the path of a kubeconfig (in directory) for it."""
    with serve(handler) as server:
        yield write_kubeconfig(directory / "kubeconfig", server, token, user)


def discovery(core: list[dict], groups: dict[str, list[dict]] | None = None) -> dict[str, dict]:
    """Discovery documents by path: /version, /api, /api/v1 serving core, /apis listing each
    "<group>/<version>" of groups (as preferred version) and /apis/<group>/<version> serving its
    resources; a group not listed is not served, as without its CRD."""
    groups = groups or {}

    def version_of(group_version: str) -> dict:
        return {"groupVersion": group_version, "version": group_version.split("/", 1)[1]}

    served = {
        "/version": {"major": "1", "minor": "33", "gitVersion": "v1.33.0"},
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": core},
        "/apis": {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": group_version.split("/", 1)[0],
                    "versions": [version_of(group_version)],
                    "preferredVersion": version_of(group_version),
                }
                for group_version in groups
            ],
        },
    }
    for group_version, resources in groups.items():
        served[f"/apis/{group_version}"] = {
            "kind": "APIResourceList",
            "groupVersion": group_version,
            "resources": resources,
        }
    return served
