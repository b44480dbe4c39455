"""Benchmark: the full service vs a bare aiohttp app (the ceiling) vs FastAPI on uvicorn.

Also a tuned bare app (bare_app.py tuned), reported without a target: the bare app doing the
body read, the JSON parse and the answer the way the service does.

One run, one machine, one load generator, one request body. Each server is a single process
pinned to CPU 0 and the load generator to CPU 1 (when taskset and two CPUs exist). The servers
are loaded in turn, round after round (--rounds, --duration seconds each), each round on a
freshly started process after a warm-up; each server's figure is its median round. Prints
req/s, p50 and p99 for each (and every round's req/s), the ratios, then the full service's p99
at half its peak rate (paced load, twice as long as a round).

Every server runs on the same event loop (--loop, uvloop by default, as uvicorn[standard] does);
the aiohttp servers use aiohttp's llhttp parser, FastAPI uvicorn's httptools: the servers report
what they run on and the run stops if an aiohttp server differs from the service.

Usage: .venv/bin/python bench/run.py [--rounds 3] [--duration 5] [--connections 32]
                                     [--loop uvloop] [--runs 1] [--json out.json]
Timings are reported, never asserted: the machine may be shared and the numbers noisy; the load
average is printed before and after (a quiet 2-core machine shows well under 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY = "bench-key"
BODY = json.dumps({"instances": [[0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 3.0, 0.25]]})
# bare-tuned is reported, not a target: see bare_app.py.
SERVERS = ("full", "bare", "bare-tuned", "fastapi")
TARGETS = {"full_vs_bare": 0.8, "full_vs_fastapi": 2.0, "p99_half_peak_ms": 10.0}


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu: float = 0.0  # the server's CPU use during the run (1.0 = one core)
    us_per_request: float = 0.0  # the server's CPU time per request


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(
    proc: subprocess.Popen,
    port: int,
    duration: float,
    connections: int,
    workdir: Path,
    rate: float = 0,
) -> Result:
    """load(), plus the server's CPU use: below ~0.95 the server was not the bottleneck."""
    before, started = cpu_seconds(proc.pid), time.monotonic()
    result = load(port, duration, connections, workdir, rate)
    used, elapsed = cpu_seconds(proc.pid) - before, time.monotonic() - started
    result.cpu = used / elapsed if elapsed else 0.0
    requests = result.rps * elapsed
    result.us_per_request = used / requests * 1e6 if requests else 0.0
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


def start_server(name: str, port: int, workdir: Path, loop: str) -> subprocess.Popen:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if name == "full":
        keys = workdir / "keys.json"
        keys.write_text(json.dumps({"keys": ["other-key", KEY]}))
        env.update(
            MODEL_API_HOST="127.0.0.1",
            MODEL_API_PORT=str(port),
            MODEL_API_API_KEYS_FILE=str(keys),
            MODEL_API_DRAIN_SECONDS="0",
            MODEL_API_EVENT_LOOP=loop,
        )
        cmd = [str(bindir / "model-api")]
    elif name == "bare":
        cmd = [sys.executable, str(HERE / "bare_app.py"), str(port), loop]
    elif name == "bare-tuned":
        cmd = [sys.executable, str(HERE / "bare_app.py"), str(port), loop, "tuned"]
    else:
        cmd = [sys.executable, str(HERE / "fastapi_app.py"), str(port), loop]
    # The full service's JSON logs go to a file, as a container runtime would collect them.
    log = (workdir / f"{name}.log").open("w")
    proc = subprocess.Popen([*pin(0), *cmd], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{name} server did not start; see {log.name}")


def runs_on(name: str, workdir: Path) -> str:
    """What the server reported at start-up: its event loop and HTTP parser."""
    text = (workdir / f"{name}.log").read_text(errors="replace")
    if name == "full":
        for line in text.splitlines():
            if '"listening"' in line:
                fields = json.loads(line)
                loop = fields["event_loop"].split(".")[0]
                return f"event_loop={loop} http_parser={fields['http_parser']}"
        return "unknown"
    match = re.search(r"event_loop=(\S+) http_parser=(\S+)", text)
    return match.group(0) if match else "unknown"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import aiohttp

    versions = {"python": platform.python_version(), "aiohttp": aiohttp.__version__}
    with contextlib.suppress(ImportError):
        import uvloop

        versions["uvloop"] = uvloop.__version__
    return {
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "kernel": platform.release(),
        **versions,
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# ------------------------------------------------------------------------------------- wrk
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
%(delay)s
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %%d %%f %%f %%f %%d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
"""


def run_wrk(port: int, duration: float, connections: int, workdir: Path, rate: float = 0) -> Result:
    # delay() only for paced load: wrk calls it per request, which would slow the generator
    # itself at full speed.
    delay = ""
    if rate:
        pace_ms = connections / rate * 1000
        delay = f"function delay()\n  return {pace_ms:f} * (0.5 + math.random())\nend"
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT % {"body": BODY, "key": KEY, "delay": delay})
    cmd = [*pin(1), "wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "-s", str(script)]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}/v1/predict"],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    if not match:
        raise SystemExit(f"cannot parse wrk output:\n{out}")
    requests, seconds, p50, p99, errors = match.groups()
    return Result("", int(requests) / float(seconds), float(p50), float(p99), int(errors))


# ------------------------------------------------ fallback: aiohttp closed-loop generator
async def _closed_loop(port: int, duration: float, connections: int) -> Result:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    url = f"http://127.0.0.1:{port}/v1/predict"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    end = time.perf_counter() + duration
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as s:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                start = time.perf_counter()
                async with s.post(url, data=BODY, headers=headers) as resp:
                    await resp.read()
                    errors += resp.status != 200
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Result("", len(latencies) / elapsed, pick(0.5), pick(0.99), errors)


def load(port: int, duration: float, connections: int, workdir: Path, rate: float = 0) -> Result:
    if shutil.which("wrk"):
        return run_wrk(port, duration, connections, workdir, rate)
    if rate:
        raise SystemExit("paced load needs wrk (apt-get install wrk)")
    return asyncio.run(_closed_loop(port, duration, connections))


def median(found: list[Result]) -> Result:
    """The round with the median req/s (the lower middle one for an even count)."""
    return sorted(found, key=lambda r: r.rps)[(len(found) - 1) // 2]


def one_run(args: argparse.Namespace) -> dict:
    """Load every server in turn, round after round, each round on a freshly started process;
    each server's figure is its median round (by req/s). A slow drift of the machine, one bad
    slice or one process's luck (not isolated: memory layout, hash seed) moves no ratio alone."""
    rounds: dict[str, list[Result]] = {name: [] for name in SERVERS}
    servers: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="model-api-bench-") as tmp:
        workdir = Path(tmp)

        def session(name: str, job: Callable[[subprocess.Popen, int], Result]) -> Result:
            port = free_port()
            proc = start_server(name, port, workdir, args.loop)
            try:
                servers[name] = runs_on(name, workdir)
                if name.startswith("bare") and servers[name] != servers["full"]:
                    raise SystemExit(
                        f"unfair run: full {servers['full']} but {name} {servers[name]}"
                    )
                load(port, args.warmup, args.connections, workdir)
                result = job(proc, port)
            finally:
                stop_server(proc)
            result.name = name
            return result

        def peak(proc: subprocess.Popen, port: int) -> Result:
            return measured(proc, port, args.duration, args.connections, workdir)

        for _ in range(args.rounds):
            for name in SERVERS:
                rounds[name].append(session(name, peak))
        results = {name: median(found) for name, found in rounds.items()}
        half = results["full"].rps / 2

        def paced_load(proc: subprocess.Popen, port: int) -> Result:
            return measured(proc, port, args.duration * 2, args.connections, workdir, rate=half)

        paced = session("full", paced_load)
        paced.name = "full@half-peak"
    for name, what in servers.items():
        print(f"  {name:<10} {what}")
    print(
        f"\n{'server':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
        f"{'cpu':>7}{'us/req':>8}   req/s of each round"
    )
    for result in (*results.values(), paced):
        each = " ".join(f"{r.rps:.0f}" for r in rounds.get(result.name, []))
        print(
            f"{result.name:<16}{result.rps:>10.0f}{result.p50_ms:>10.2f}"
            f"{result.p99_ms:>10.2f}{result.errors:>8}{result.cpu:>7.2f}"
            f"{result.us_per_request:>8.1f}   {each}"
        )
    print(
        "(cpu: the server's share of its core during the run; under ~0.95 something else, "
        "e.g. the load generator, limited it)"
    )
    full_vs_bare = results["full"].rps / results["bare"].rps
    full_vs_fastapi = results["full"].rps / results["fastapi"].rps
    checks = {
        "full_vs_bare": (full_vs_bare, full_vs_bare >= TARGETS["full_vs_bare"]),
        "full_vs_fastapi": (full_vs_fastapi, full_vs_fastapi >= TARGETS["full_vs_fastapi"]),
        "p99_half_peak_ms": (paced.p99_ms, paced.p99_ms < TARGETS["p99_half_peak_ms"]),
    }
    full_vs_tuned = results["full"].rps / results["bare-tuned"].rps
    print(f"\nfull / bare    = {full_vs_bare:.2f}x (target >= {TARGETS['full_vs_bare']}x)")
    print(f"full / fastapi = {full_vs_fastapi:.2f}x (target >= {TARGETS['full_vs_fastapi']}x)")
    print(
        f"full p99 at {paced.rps:.0f} req/s (half peak) = {paced.p99_ms:.2f} ms "
        f"(target < {TARGETS['p99_half_peak_ms']} ms)"
    )
    print(
        f"full / bare-tuned = {full_vs_tuned:.2f}x (no target: the bare app doing the body read,"
        " the JSON parse and the answer the way the service does; what is left is the cost of"
        " the service's own features)"
    )
    full_us = results["full"].us_per_request
    if full_us:
        # Less sensitive to other processes on the machine than req/s (a busy neighbour takes
        # CPU from the server, not CPU time per request): the same ratios from CPU time.
        cpu_bare = results["bare"].us_per_request / full_us
        cpu_fastapi = results["fastapi"].us_per_request / full_us
        print(
            f"from CPU time per request: full / bare = {cpu_bare:.2f}x, "
            f"full / fastapi = {cpu_fastapi:.2f}x"
        )
    missed = [name for name, (_, ok) in checks.items() if not ok]
    print("targets: " + ("all met" if not missed else "missed: " + ", ".join(missed)))
    return {
        "servers": servers,
        "results": [asdict(r) for r in (*results.values(), paced)],
        "rounds": {name: [asdict(r) for r in found] for name, found in rounds.items()},
        "ratios": {**{k: v for k, (v, _) in checks.items()}, "full_vs_bare_tuned": full_vs_tuned},
        "missed": missed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="each server loaded this many times, in turn"
    )
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole comparison")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    generator = "wrk" if shutil.which("wrk") else "aiohttp closed-loop (wrk not installed)"
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(
        f"load generator: {generator}; pinning: {' '.join(pin(0)) or 'none'} / "
        f"{' '.join(pin(1)) or 'none'}; {args.connections} connections; {args.duration:g}s each; "
        f"event loop {args.loop}"
    )
    runs = []
    for n in range(args.runs):
        before = load_average()
        print(f"\nrun {n + 1}/{args.runs}: load average before {before}")
        run = one_run(args)
        run["load_average"] = {"before": before, "after": load_average()}
        print(f"load average after {run['load_average']['after']}")
        runs.append(run)
    if len(runs) > 1:
        for key in ("full_vs_bare", "full_vs_fastapi"):
            values = [r["ratios"][key] for r in runs]
            spread = (max(values) - min(values)) / min(values)
            print(f"{key}: " + ", ".join(f"{v:.2f}" for v in values) + f" (spread {spread:.1%})")
    if args.json:
        args.json.write_text(
            json.dumps({"generator": generator, "machine": info, "runs": runs}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
