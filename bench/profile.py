"""Profile a benchmark server under the benchmark's load: py-spy samples it while wrk loads it.

    .venv/bin/python bench/profile.py [full|bare|bare-tuned|fastapi] [--seconds 10] [--loop uvloop]

Starts the server as bench/run.py does (CPU 0, wrk on CPU 1, the same body and key), records
with py-spy (bench/requirements.txt) in its raw "collapsed stacks" format, and prints the
functions with the most samples per request (self and inclusive, in microseconds of samples per
request: comparable between servers of one run, not a CPU measurement), grouped as service code,
aiohttp, json, event loop. Use it to see where the time goes before changing the hot path.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # bench/run.py


def group(frame: str) -> str:
    if "model_api/" in frame or "bench/" in frame or "bare_app" in frame:
        return "service code"
    if "aiohttp/" in frame and "run_app" not in frame:
        return "aiohttp"
    if "json/" in frame:
        return "json"
    if "runners.py" in frame or "run_app" in frame or "base_events" in frame:
        return "event loop (C frames are shown as their Python caller)"
    return "other"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", nargs="?", default="full", choices=bench.SERVERS)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists() or not shutil.which("wrk"):
        raise SystemExit("needs py-spy (pip install -r bench/requirements.txt) and wrk")

    with tempfile.TemporaryDirectory(prefix="model-api-profile-") as tmp:
        workdir = Path(tmp)
        port = bench.free_port()
        proc = bench.start_server(args.server, port, workdir, args.loop)
        try:
            bench.load(port, 2, args.connections, workdir)
            result: list[bench.Result] = []
            loader = threading.Thread(
                target=lambda: result.append(
                    bench.load(port, args.seconds + 2, args.connections, workdir)
                )
            )
            loader.start()
            raw = workdir / "profile.raw"
            record = ["record", "-p", str(proc.pid), "-d", str(args.seconds), "-r", "1000"]
            subprocess.run(
                [spy, *record, "-f", "raw", "-o", str(raw), "--nonblocking"],
                check=True,
                capture_output=True,
            )
            loader.join()
        finally:
            bench.stop_server(proc)
        requests = result[0].rps * args.seconds
        self_time: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        groups: collections.Counter[str] = collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = stack.split(";")
            self_time[frames[-1]] += n
            groups[group(frames[-1])] += n
            for frame in {re.sub(r":\d+\)$", ")", f) for f in frames}:
                inclusive[frame] += n

    def us(n: int) -> float:
        return n / requests * 1000  # 1000 samples per second -> ms; per request -> us

    print(f"{args.server}: {result[0].rps:.0f} req/s under load; samples per request in us")
    print(f"total {us(sum(groups.values())):.1f}")
    for name, n in groups.most_common():
        print(f"  {us(n):6.2f}  {name}")
    print("self (line):")
    for frame, n in self_time.most_common(args.top):
        print(f"  {us(n):6.2f}  {frame}")
    print("inclusive (function):")
    for frame, n in inclusive.most_common(args.top):
        print(f"  {us(n):6.2f}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
