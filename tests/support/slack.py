"""A Slack-compatible incoming webhook on 127.0.0.1, and the mounted webhook Secret as files."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SLACK_SECRET_NAME = "alertmanager-slack-webhooks"


def write_slack_secrets(secrets_dir: Path, urls: dict[str, str]) -> Path:
    """The mounted Secret as files: <dir>/alertmanager-slack-webhooks/<severity> = URL."""
    folder = secrets_dir / SLACK_SECRET_NAME
    folder.mkdir(parents=True, exist_ok=True)
    for key, url in urls.items():
        target = folder / key
        target.write_text(url)
        target.chmod(0o600)
    return folder


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
