"""Structured JSON logs on stdout: one object per line, request id included where there is one.

Application logs go through `logging` (JsonFormatter). The access log is on the hot path, so it
bypasses `logging`: AccessLog formats one JSON line per request into a buffer that a background
task flushes every fraction of a second (and at shutdown). Nothing here ever receives request
headers: the Authorization header and API keys are never logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

_ts_second = -1
_ts_prefix = ""


def iso_timestamp(now: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds; the formatted second is cached."""
    global _ts_second, _ts_prefix
    t = time.time() if now is None else now
    second = int(t)
    if second != _ts_second:
        _ts_second, _ts_prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_ts_prefix}.{int((t - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": iso_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            # Only the exception type: tracebacks may carry request data, keep them out of logs.
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, default=str, separators=(",", ":"))


class AccessLog:
    """Buffered JSON access log lines (same shape as the application's log lines)."""

    max_buffered = 512

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lines: list[str] = []

    def record(self, fields: dict[str, object]) -> None:
        self._lines.append(json.dumps({"ts": iso_timestamp(), **fields}, separators=(",", ":")))
        if len(self._lines) >= self.max_buffered:
            self.flush()

    def record_line(self, members: str) -> None:
        """Record a pre-formatted line: `members` is the JSON object's body without braces."""
        self._lines.append(f'{{"ts":"{iso_timestamp()}",{members}}}')
        if len(self._lines) >= self.max_buffered:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        stream = self.stream or sys.stdout
        try:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stdout must not break serving
            pass


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log is replaced by ours (AccessLog).
    logging.getLogger("aiohttp.access").disabled = True
