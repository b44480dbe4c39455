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


# One access line (the members of JsonFormatter's lines, then the request's): printf-style, which
# formats the numbers in C. path and route are JSON strings already; extra is "" or members.
_ACCESS_LINE = (
    '{"ts":"%s.%03dZ","level":"INFO","logger":"model_api.access","message":"request",'
    '"request_id":"%s","method":"%s","path":%s,"route":%s,"status":%d,"duration_ms":%.3f,'
    '"remote":"%s"%s}'
)


class AccessLog:
    """Buffered JSON access log lines (same shape as the application's log lines).

    The request path only appends a tuple of the request's values (`request`); the lines are
    formatted in batches when the buffer is flushed (a background task, every 0.2 s, or when
    `max_buffered` entries are waiting), which costs less than formatting one line per request.
    """

    max_buffered = 512

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        # (time.time(), request_id, method, path_json, route_json, status, seconds, remote,
        # extra): appended by request() or directly by the service's per-route code.
        self.entries: list[tuple] = []
        self._lines: list[str] = []

    def request(
        self,
        request_id: str,
        method: str,
        path_json: str,
        route_json: str,
        status: int,
        seconds: float,
        remote: str | None,
        extra: str = "",
    ) -> None:
        """One access line: path_json and route_json are JSON strings, extra is "" or
        ',"name":value' members; the other values are validated tokens or numbers."""
        entries = self.entries
        entries.append(
            (time.time(), request_id, method, path_json, route_json, status, seconds, remote, extra)
        )
        if len(entries) >= self.max_buffered:
            self.flush()

    def record(self, fields: dict[str, object]) -> None:
        self._lines.append(json.dumps({"ts": iso_timestamp(), **fields}, separators=(",", ":")))
        if len(self._lines) >= self.max_buffered:
            self.flush()

    def _format(self, entries: list[tuple]) -> list[str]:
        lines = []
        append = lines.append
        line = _ACCESS_LINE
        second, next_second, prefix = -1.0, -1.0, ""
        for t, request_id, method, path_json, route_json, status, seconds, remote, extra in entries:
            if not second <= t < next_second:  # the formatted second is cached, as iso_timestamp's
                second = t // 1
                next_second = second + 1
                prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            append(
                line
                % (
                    prefix,
                    (t - second) * 1000,  # %03d truncates: the milliseconds, as iso_timestamp
                    request_id,
                    method,
                    path_json,
                    route_json,
                    status,
                    seconds * 1000,
                    remote,
                    extra,
                )
            )
        return lines

    def flush(self) -> None:
        if not self.entries and not self._lines:
            return
        entries, self.entries = self.entries, []
        lines, self._lines = self._lines, []
        lines += self._format(entries)
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
