#!/usr/bin/env python3
"""Start, stop and inspect a local AWS emulator (moto in server mode).

The emulator listens on 127.0.0.1 on a free port and keeps its state in a
state directory:

    DIR/endpoint   the endpoint URL, e.g. http://127.0.0.1:45123
    DIR/pid        the process id of the moto server
    DIR/moto.log   the server's output

Commands (all idempotent):

    start  --state-dir DIR   start an emulator, or reuse the live one in DIR
    stop   --state-dir DIR   stop the emulator in DIR (nothing to do is fine)
    status --state-dir DIR   report whether the emulator in DIR answers

start and status print one JSON object on stdout:
    {"endpoint": "http://127.0.0.1:PORT", "pid": N, "started": true|false}
(status prints {"running": true|false, "endpoint": ..., "pid": ...}).

Point clients at it with fake credentials, for example:

    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_DEFAULT_REGION=eu-west-1
    scripts/aws_emulator.py start --state-dir build/aws
    export AWS_ENDPOINT_URL=$(cat build/aws/endpoint)

Exit codes: 0 success; 2 expected failure (message on stderr, no traceback).

Also importable: start(state_dir) -> dict, stop(state_dir) -> bool, status(state_dir) -> dict.
Run it with the project's virtualenv python (it needs moto[server]).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class EmulatorError(Exception):
    """An expected failure, reported without a traceback."""


def _paths(state_dir: Path) -> tuple[Path, Path, Path]:
    return state_dir / "endpoint", state_dir / "pid", state_dir / "moto.log"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _answers(endpoint: str, timeout: float = 2.0) -> bool:
    """True when a moto server answers at endpoint."""
    if not endpoint.startswith("http://127.0.0.1:"):
        return False
    try:
        # /moto-api/data.json serialises every resource (seconds once IAM managed policies are
        # loaded); the dashboard page answers at once.
        url = f"{endpoint}/moto-api/"
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http on loopback only
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_state(state_dir: Path) -> tuple[str | None, int | None]:
    endpoint_file, pid_file, _ = _paths(state_dir)
    endpoint = endpoint_file.read_text().strip() if endpoint_file.is_file() else None
    pid = None
    if pid_file.is_file():
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            pid = None
    return endpoint or None, pid


def status(state_dir: str | os.PathLike) -> dict:
    """Return {"running": bool, "endpoint": str|None, "pid": int|None}."""
    endpoint, pid = _read_state(Path(state_dir))
    running = bool(endpoint and pid and _pid_alive(pid) and _answers(endpoint))
    return {"running": running, "endpoint": endpoint, "pid": pid}


def start(
    state_dir: str | os.PathLike,
    timeout: float = DEFAULT_START_TIMEOUT,
    python: str | None = None,
) -> dict:
    """Start moto on a free port, or reuse the live emulator recorded in state_dir.

    Returns {"endpoint": ..., "pid": ..., "started": bool}. Raises EmulatorError.
    """
    state = Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    current = status(state)
    if current["running"]:
        return {"endpoint": current["endpoint"], "pid": current["pid"], "started": False}
    # A stale record (dead process or one that stopped answering) is replaced.
    stop(state)

    endpoint_file, pid_file, log_file = _paths(state)
    port = _free_port()
    endpoint = f"http://{HOST}:{port}"
    env = dict(os.environ)
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    cmd = [python or sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    with open(log_file, "ab") as log:
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=state,
                start_new_session=True,  # survive the caller; stop() ends the whole group
            )
        except OSError as exc:
            raise EmulatorError(f"cannot run {cmd[0]}: {exc}") from exc
    pid_file.write_text(f"{proc.pid}\n")

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            raise EmulatorError(
                f"moto server exited with code {proc.returncode} before answering on port "
                f"{port}; see {log_file} (is moto[server] installed for {cmd[0]}?)"
            )
        if _answers(endpoint, timeout=1.0):
            endpoint_file.write_text(f"{endpoint}\n")
            return {"endpoint": endpoint, "pid": proc.pid, "started": True}
        time.sleep(0.2)
    _terminate(proc.pid)
    pid_file.unlink(missing_ok=True)
    raise EmulatorError(
        f"moto server did not answer on {endpoint} within {timeout:.0f}s; see {log_file}"
    )


def _terminate(pid: int) -> None:
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                # Reap it when it is our child; otherwise just poll.
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not _pid_alive(pid):
                return
            time.sleep(0.1)


def stop(state_dir: str | os.PathLike) -> bool:
    """Stop the emulator recorded in state_dir. Returns True when one was running."""
    state = Path(state_dir)
    endpoint_file, pid_file, _ = _paths(state)
    _, pid = _read_state(state)
    was_running = bool(pid and _pid_alive(pid))
    if was_running:
        _terminate(pid)
        if _pid_alive(pid):
            raise EmulatorError(f"moto server pid {pid} did not stop; end it by hand")
    endpoint_file.unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)
    return was_running


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        prog="aws_emulator.py",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{start,stop,status}")
    for name, help_text in (
        ("start", "start moto (or reuse the live one) and print its endpoint as JSON"),
        ("stop", "stop the emulator recorded in the state directory"),
        ("status", "print whether the emulator answers, as JSON; exit 1 when it does not"),
    ):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument(
            "--state-dir",
            required=True,
            type=Path,
            help="directory holding endpoint, pid and moto.log (created by start)",
        )
        if name == "start":
            cmd.add_argument(
                "--timeout",
                type=float,
                default=DEFAULT_START_TIMEOUT,
                help="seconds to wait for the server to answer (default: %(default)s)",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "start":
            print(json.dumps(start(args.state_dir, timeout=args.timeout)))
            return 0
        if args.command == "stop":
            stopped = stop(args.state_dir)
            print(json.dumps({"stopped": stopped}))
            return 0
        result = status(args.state_dir)
        print(json.dumps(result))
        return 0 if result["running"] else 1
    except EmulatorError as exc:
        print(f"aws_emulator.py {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"aws_emulator.py {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
