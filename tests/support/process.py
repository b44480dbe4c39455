"""Processes in their own process groups on 127.0.0.1, stopped for sure.

``ProcessStack`` starts each process with ``start_new_session`` (its own process group);
``stop`` ends every group (SIGTERM, then SIGKILL) and ``leftovers`` proves none is left;
``listening`` reads each process's listening sockets from /proc (Linux only).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


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


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def tcp_listeners() -> dict[str, str]:
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


@dataclass
class ProcessStack:
    """The processes of one run. Use as a context manager, or call stop() in a finalizer."""

    workdir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: list[Managed] = field(default_factory=list)
    _stopped_groups: list[int] = field(default_factory=list)

    def __enter__(self) -> ProcessStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Managed:
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

    def wait_ready(self, managed: Managed, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if managed.popen.poll() is not None:
                raise RuntimeError(
                    f"{managed.name} exited with {managed.popen.returncode}:\n{managed.log_tail()}"
                )
            with contextlib.suppress(OSError):
                if http_get(url, timeout=1.0)[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"{managed.name} not ready at {url} in {timeout}s:\n{managed.log_tail()}"
        )

    def stop_process(self, name: str, timeout: float = 10.0) -> None:
        """Stop the processes named ``name`` alone (SIGTERM, like a pod being replaced; SIGKILL
        after ``timeout``); the others keep running."""
        for managed in [m for m in self.processes if m.name == name]:
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

    def listening(self) -> dict[str, list[str]]:
        """Each live process's listening TCP addresses (from /proc; Linux only)."""
        listeners = tcp_listeners()
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
