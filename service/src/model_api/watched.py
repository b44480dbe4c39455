"""Mounted files that may change at run time: API keys and fault settings.

Each is re-read only when its (inode, mtime, size) signature changes; a background task in the
application's cleanup context checks them on a fixed interval, so requests never touch the disk.
Kubernetes updates secret volumes by swapping a symlink, which changes the inode we stat through it.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import os
from dataclasses import dataclass

log = logging.getLogger("model_api.files")

Signature = tuple[int, int, int] | None


class FileFormatError(ValueError):
    """A watched file exists but its content is not acceptable."""


def file_signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def parse_api_keys(text: str) -> tuple[bytes, ...]:
    """Parse the key file: JSON {"keys": ["k1", "k2"]} (the Secrets Manager secret's value)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise FileFormatError('not valid JSON; expected {"keys": ["...", ...]}') from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        raise FileFormatError('expected a JSON object {"keys": ["...", ...]} with at least one key')
    if not all(isinstance(k, str) and k.strip() for k in keys):
        raise FileFormatError("every key must be a non-empty string")
    return tuple(k.strip().encode() for k in keys)


class ApiKeyStore:
    """Bearer API keys from a mounted secret file; several keys at once so keys can rotate."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._keys: tuple[bytes, ...] = ()
        self._signature: Signature = None

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def load(self) -> None:
        """Initial load; raises OSError or FileFormatError so start-up fails clearly."""
        signature = file_signature(self.path)
        with open(self.path, encoding="utf-8") as handle:
            self._keys = parse_api_keys(handle.read())
        self._signature = signature

    def refresh(self) -> bool:
        """Re-read the file if it changed; keep the last good keys if it is missing or bad."""
        signature = file_signature(self.path)
        if signature == self._signature:
            return False
        self._signature = signature
        if signature is None:
            log.error("API key file disappeared; keeping the previous keys", extra=_path(self))
            return False
        try:
            with open(self.path, encoding="utf-8") as handle:
                keys = parse_api_keys(handle.read())
        except (OSError, UnicodeDecodeError, FileFormatError) as exc:
            log.error(
                "API key file is unreadable; keeping the previous keys",
                extra={"fields": {"path": self.path, "reason": str(exc)}},
            )
            return False
        self._keys = keys
        log.info("API keys reloaded", extra={"fields": {"path": self.path, "keys": len(keys)}})
        return True

    def accepts(self, authorization: str | None) -> bool:
        """True for an Authorization header of the exact form 'Bearer <valid key>'.

        The request's fast path: False does not mean the header is wrong, only that the
        service's full parse (app._authenticate) decides and names the problem.
        """
        return (
            authorization is not None
            and authorization[:7] == "Bearer "
            and self.is_valid(authorization[7:].strip().encode("utf-8", "surrogatepass"))
        )

    def is_valid(self, token: bytes) -> bool:
        """Constant-time comparison against every key (no early exit on a match)."""
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(token, key)
        return ok


@dataclass(frozen=True, slots=True)
class FaultSettings:
    error_rate: float = 0.0
    latency_ms: float = 0.0

    @property
    def active(self) -> bool:
        return self.error_rate > 0 or self.latency_ms > 0


def parse_fault_settings(text: str) -> FaultSettings:
    """Parse the fault file: JSON {"error_rate": 0..1, "latency_ms": >= 0}, both optional."""
    try:
        data = json.loads(text)
    except ValueError:
        raise FileFormatError("not valid JSON") from None
    if not isinstance(data, dict):
        raise FileFormatError('expected a JSON object {"error_rate": ..., "latency_ms": ...}')
    unknown = set(data) - {"error_rate", "latency_ms"}
    if unknown:
        raise FileFormatError(f"unknown fields: {', '.join(sorted(unknown))}")
    rate = _number(data, "error_rate", 0.0, 1.0)
    latency = _number(data, "latency_ms", 0.0, 60_000.0)
    return FaultSettings(rate, latency)


def _number(data: dict[str, object], name: str, low: float, high: float) -> float:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FileFormatError(f"{name} must be a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise FileFormatError(f"{name} must be between {low:g} and {high:g}")
    return float(value)


class FaultSource:
    """Fault settings: the environment's values, replaced by the fault file's while it exists."""

    def __init__(self, base: FaultSettings, path: str | None) -> None:
        self.base = base
        self.path = path
        self.current = base
        self._signature: Signature = None

    def load(self) -> None:
        """Initial load; a present but invalid file fails start-up (FileFormatError, OSError)."""
        if self.path is None:
            return
        self._signature = file_signature(self.path)
        if self._signature is not None:
            with open(self.path, encoding="utf-8") as handle:
                self.current = parse_fault_settings(handle.read())

    def refresh(self) -> bool:
        if self.path is None:
            return False
        signature = file_signature(self.path)
        if signature == self._signature:
            return False
        self._signature = signature
        if signature is None:
            new = self.base
        else:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    new = parse_fault_settings(handle.read())
            except (OSError, UnicodeDecodeError, FileFormatError) as exc:
                log.error(
                    "fault file is invalid; keeping the previous settings",
                    extra={"fields": {"path": self.path, "reason": str(exc)}},
                )
                return False
        self.current = new
        log.warning(
            "fault settings changed",
            extra={"fields": {"error_rate": new.error_rate, "latency_ms": new.latency_ms}},
        )
        return True


def _path(store: ApiKeyStore) -> dict[str, dict[str, str]]:
    return {"fields": {"path": store.path}}
