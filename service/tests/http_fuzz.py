"""Fuzz the running service with malformed HTTP requests on loopback; report what it answered.

Every request is raw bytes on its own TCP connection: bodies, methods, paths, request lines,
headers (Content-Encoding, Transfer-Encoding, Content-Length mismatches, duplicates, invalid
names and values, Expect, Upgrade), content codings (valid, corrupt and truncated gzip, a gzip
bomb, deflate, br, zstd, unknown codings) and random byte mutations of a valid request.
The contract checked for every request (issue 19): no 5xx, every 4xx body is the API's JSON
error shape, no dropped connection, no request left unanswered; the service is ready afterwards
and its metrics count no 5xx.

    scripts/with-env python service/tests/http_fuzz.py --count 10000 [--seed 19] [--json out]

starts its own `model-api` on 127.0.0.1 (or --port N to fuzz one already listening on
127.0.0.1). Bounded: --count requests, --concurrency connections at a time, --timeout seconds
per request. Exit status 1 if the contract is broken. The test suite runs the same generator
in-process on a smaller count (test_model_api_protocol.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

from model_api_testing import (  # noqa: E402
    RawExchange,
    free_port,
    is_json_error,
    raw_exchange,
)

GOOD_ROW = [0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 3.0, 0.25]
GOOD_BODY = json.dumps({"instances": [GOOD_ROW]}).encode()
PATHS = ["/v1/predict", "/healthz", "/readyz", "/version", "/metrics", "/v1/other", "/"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass
class Case:
    kind: str
    data: bytes
    head: bool = False  # a HEAD request: the answer has no body

    @property
    def unterminated(self) -> bool:
        """The header section never ends: an HTTP server rightly waits for the rest
        (RFC 9112 section 2.2 also lets it skip empty lines before a request line)."""
        data = self.data.lstrip(b"\r\n")
        return b"\r\n\r\n" not in data and b"\n\n" not in data


# --------------------------------------------------------------------------------- bodies
def _json_body(rng: random.Random) -> bytes:
    choices = [
        lambda: GOOD_BODY,
        lambda: GOOD_BODY,
        lambda: GOOD_BODY,
        lambda: json.dumps({"instances": [[rng.uniform(-9, 9) for _ in GOOD_ROW]] * 3}).encode(),
        lambda: json.dumps({"instances": [GOOD_ROW] * rng.randint(0, 80)}).encode(),
        lambda: json.dumps({"instances": [[rng.random()] * rng.randint(0, 70)]}).encode(),
        lambda: json.dumps(
            {"instances": [[rng.choice([None, "x", True, [], {}, 1e308])] * 8]}
        ).encode(),
        lambda: b'{"instances": [[' + b"1e999," * 7 + b"1]]}",
        lambda: b'{"instances": [[NaN, Infinity, -Infinity, 1, 2, 3, 4, 5]]}',
        lambda: b"[" * rng.randint(1, 5000) + b"]" * rng.randint(0, 5000),
        lambda: json.dumps(rng.choice([None, 1, "s", [], {}, {"instances": {}}])).encode(),
        lambda: b'{"instances": [[1,2,3,4,5,6,7,8]]' + b"x" * rng.randint(1, 5),
        lambda: "\ufeff".encode() + GOOD_BODY,
        lambda: GOOD_BODY.decode().encode("utf-16"),
        lambda: rng.randbytes(rng.randint(0, 300)),
        lambda: b"",
    ]
    return rng.choice(choices)()


def _coded(rng: random.Random, body: bytes) -> tuple[list[str], bytes]:
    """(Content-Encoding header values, body bytes) for one coding scenario."""
    gz = gzip.compress(body)
    options = [
        (["gzip"], gz),
        (["x-gzip"], gz),
        (["GZip"], gz),
        (["gzip"], gz[: rng.randint(0, max(0, len(gz) - 1))]),  # truncated
        (["gzip"], rng.randbytes(rng.randint(0, 64))),  # not gzip
        (["gzip"], gz + rng.randbytes(rng.randint(1, 16))),  # trailing garbage
        (["gzip"], gz + gz),  # two members
        (["gzip"], gzip.compress(b"0" * rng.choice([300_000, 3_000_000]))),  # bomb
        (["gzip"], gzip.compress(rng.randbytes(200))),  # valid gzip, not JSON
        (["deflate"], zlib.compress(body)),
        (["deflate"], rng.randbytes(20)),
        (["br"], body),
        (["br"], rng.randbytes(20)),
        (["zstd"], body),
        (["compress"], body),
        (["identity"], body),
        ([""], body),
        (["gzip, gzip"], gzip.compress(gz)),
        (["gzip", "gzip"], gzip.compress(gz)),
        (["identity, gzip"], gz),
        (["gzip", "br"], gz),
        (["\u00e9"], body),
        ([rng.choice(["*", "chunked", "aes128gcm", "gzip;q=1", " gzip "])], gz),
    ]
    return rng.choice(options)


# ----------------------------------------------------------------------------- requests
def _assemble(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    version: str = "HTTP/1.1",
    eol: bytes = b"\r\n",
) -> bytes:
    head = f"{method} {path} {version}".encode("utf-8", "surrogateescape") + eol
    for name, value in headers:
        head += f"{name}: {value}".encode("utf-8", "surrogateescape") + eol
    return head + eol + body


def _auth(rng: random.Random, key: str) -> list[tuple[str, str]]:
    return rng.choice(
        [
            [("Authorization", f"Bearer {key}")],
            [("Authorization", f"Bearer {key}")],
            [("Authorization", f"Bearer {key}")],
            [],
            [("Authorization", "Bearer wrong")],
            [("Authorization", f"Basic {key}")],
            [("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {key}")],
            [("Authorization", f"Bearer {key}"), ("Authorization", "Bearer wrong")],
            [("Authorization", "Bearer \udcff\udcfe")],
        ]
    )


def _content_type(rng: random.Random) -> list[tuple[str, str]]:
    return rng.choice(
        [
            [("Content-Type", "application/json")],
            [("Content-Type", "application/json")],
            [("Content-Type", "application/json; charset=utf-8")],
            [("Content-Type", "text/plain")],
            [],
            [("Content-Type", "application/json"), ("Content-Type", "text/plain")],
            [("Content-Type", ";;;")],
            [("Content-Type", "application/json; charset=\u00e9")],
        ]
    )


def predict_case(rng: random.Random, key: str) -> Case:
    """A POST /v1/predict with varied body, coding, framing and duplicated headers."""
    body = _json_body(rng)
    headers = [("Host", "127.0.0.1"), *_auth(rng, key), *_content_type(rng)]
    kind = "predict"
    if rng.random() < 0.5:
        codings, body = _coded(rng, body)
        headers += [("Content-Encoding", c) for c in codings]
        kind = "coding"
    framing = rng.choice(["length"] * 4 + ["chunked", "bad-length", "bad-chunked", "te-other"])
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        size = rng.randint(1, 64)
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    elif framing == "bad-length":
        kind = "length"
        n = len(body)
        headers += rng.choice(
            [
                [
                    ("Content-Length", str(max(0, n - rng.randint(1, 10))))
                ],  # shorter: rest pipelined
                [("Content-Length", str(n + rng.randint(1, 10)))],  # longer: body never completes
                [("Content-Length", str(n)), ("Content-Length", str(n))],
                [("Content-Length", str(n)), ("Content-Length", str(n + 1))],
                [("Content-Length", f"{n}, {n}")],
                [("Content-Length", "-1")],
                [("Content-Length", "abc")],
                [("Content-Length", f"+{n}")],
                [("Content-Length", " " + str(n))],
                [("Content-Length", "99999999999999999999999")],
                [("Content-Length", str(n)), ("Transfer-Encoding", "chunked")],
            ]
        )
    elif framing == "bad-chunked":
        kind = "chunked"
        headers += rng.choice(
            [
                [("Transfer-Encoding", "chunked")],
                [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
                [("Transfer-Encoding", "chunked, chunked")],
            ]
        )
        body = rng.choice(
            [
                b"zz\r\n" + body + b"\r\n0\r\n\r\n",
                b"%x\r\n%s\r\n" % (len(body) + 5, body) + b"0\r\n\r\n",
                b"%x\r\n%s" % (len(body), body),  # no last chunk: never completes
                b"%x;ext=1\r\n%s\r\n0\r\nTrailer: x\r\n\r\n" % (len(body), body),
                b"-1\r\n\r\n",
                b"ffffffffffffffffff\r\n",
            ]
        )
    else:
        kind = "transfer-coding"
        headers.append(
            (
                "Transfer-Encoding",
                rng.choice(["gzip", "gzip, chunked", "identity", "chunked, gzip"]),
            )
        )
        headers.append(("Content-Length", str(len(body))))
    rng.shuffle(headers)
    return Case(kind, _assemble("POST", "/v1/predict", headers, body))


def header_case(rng: random.Random, key: str) -> Case:
    """Any route, one or more odd headers."""
    method = rng.choice(METHODS)
    path = rng.choice(PATHS)
    headers = [("Host", "127.0.0.1"), *_auth(rng, key), ("Content-Type", "application/json")]
    odd = [
        ("Expect", rng.choice(["100-continue", "100-Continue", "teapot", "", "100-continue, x"])),
        ("Connection", rng.choice(["close", "keep-alive", "upgrade", "Upgrade, close", "\x7f"])),
        ("Upgrade", rng.choice(["websocket", "h2c", "foo"])),
        ("Sec-WebSocket-Key1", "x"),
        ("X-Request-ID", rng.choice(["ok-id", "", "x" * 300, "bad id", "\udcff", "../"])),
        ("Host", rng.choice(["", "a b", "127.0.0.1", "[::1", "x" * 300])),
        ("Content-Encoding", rng.choice(["br", "gzip", "zstd", "???"])),
        ("Transfer-Encoding", rng.choice(["chunked", "gzip", ""])),
        ("X-Long", "x" * rng.choice([100, 8190, 9000, 20_000])),
        ("Bad Name", "x"),
        ("Bad:Name", "x"),
        ("", "empty name"),
        ("X-Ctl", "a\x00b"),
        ("X-Ctl", "a\x01b"),
        ("X-Utf8", "\u00e9\u4e2d"),
        ("X-Fold", "a\r\n b"),
        ("X-Cr", "a\rb"),
        ("Accept", "text/html"),
        ("Content-Length", rng.choice(["0", "1", "x"])),
    ]
    for _ in range(rng.randint(1, 4)):
        headers.insert(rng.randint(0, len(headers)), rng.choice(odd))
    if rng.random() < 0.05:
        headers += [(f"X-H{i}", "v") for i in range(rng.choice([100, 200]))]
    if rng.random() < 0.3:
        headers = [h for h in headers if h[0] != "Host"]
    has_length = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers)
    body = b""
    if method == "POST" and not has_length:
        body = GOOD_BODY
        headers.append(("Content-Length", str(len(body))))
    version = rng.choice(["HTTP/1.1"] * 5 + ["HTTP/1.0"])
    return Case("header", _assemble(method, path, headers, body, version), head=method == "HEAD")


def line_case(rng: random.Random, key: str) -> Case:
    """Odd methods, paths, request targets, versions and line endings."""
    method = rng.choice(
        [*METHODS, "get", "CONNECT", "TRACE", "PROPFIND", "FOO", "G@T", "", "POST POST", "\u00e9"]
    )
    path = rng.choice(
        [
            *PATHS,
            "/v1/predict?x=1",
            "/v1/predict#f",
            "/V1/PREDICT",
            "//v1//predict",
            "/v1/./predict",
            "/v1/../v1/predict",
            "/%2e%2e/",
            "/%zz",
            "/%00",
            "/\u00e9",
            "*",
            "127.0.0.1:80",
            "http://127.0.0.1/healthz",
            "http://other/v1/predict",
            "",
            "/" + "a" * rng.choice([100, 8200, 20_000]),
            "/a b",
        ]
    )
    version = rng.choice(
        [
            "HTTP/1.1",
            "HTTP/1.0",
            "HTTP/0.9",
            "HTTP/2.0",
            "HTTP/1.2",
            "HTTP/9.9",
            "http/1.1",
            "",
            "X",
        ]
    )
    eol = rng.choice([b"\r\n", b"\r\n", b"\n", b"\r"])
    headers = [("Host", "127.0.0.1"), *_auth(rng, key), ("Content-Type", "application/json")]
    body = b""
    if method == "POST":
        body = GOOD_BODY
        headers.append(("Content-Length", str(len(body))))
    return Case("line", _assemble(method, path, headers, body, version, eol), head=method == "HEAD")


def garbage_case(rng: random.Random, key: str) -> Case:
    """Not HTTP at all, or a valid request with random bytes flipped, inserted or removed."""
    pick = rng.random()
    if pick < 0.3:
        data = rng.choice(
            [
                rng.randbytes(rng.randint(1, 200)),
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(40),  # TLS hello
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # HTTP/2 preface
                b"\r\n\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage after",
            ]
        )
        return Case("garbage", data)
    headers = [
        ("Host", "127.0.0.1"),
        ("Authorization", f"Bearer {key}"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(GOOD_BODY))),
    ]
    data = bytearray(_assemble("POST", "/v1/predict", headers, GOOD_BODY))
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data))
        action = rng.random()
        if action < 0.4:
            data[at] = rng.randrange(256)
        elif action < 0.7:
            data[at:at] = rng.randbytes(rng.randint(1, 4))
        else:
            del data[at : at + rng.randint(1, 4)]
    return Case("mutation", bytes(data), head=data.startswith(b"HEAD "))


GENERATORS = (predict_case, predict_case, header_case, line_case, garbage_case)


def make_case(rng: random.Random, key: str) -> Case:
    return rng.choice(GENERATORS)(rng, key)


# ------------------------------------------------------------------------------- judging
@dataclass
class Tally:
    sent: int = 0
    unterminated_waits: int = 0  # unterminated headers, no answer, connection still open
    by_status: collections.Counter = field(default_factory=collections.Counter)
    by_kind: collections.Counter = field(default_factory=collections.Counter)
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    broken: collections.Counter = field(default_factory=collections.Counter)  # by kind
    problems: list[str] = field(default_factory=list)  # the first 50, for the report

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.by_status.items() if s >= 500)

    def add(self, case: Case, exchange: RawExchange) -> None:
        self.sent += 1
        self.by_kind[case.kind] += 1
        self.outcomes[exchange.outcome] += 1
        if exchange.outcome == "timeout" and case.unterminated and not exchange.responses:
            self.unterminated_waits += 1
        problem = judge(case, exchange)
        for response in exchange.responses:
            self.by_status[response.status] += 1
        if problem:
            self.broken[problem.split(" ", 1)[0]] += 1
            if len(self.problems) < 50:
                self.problems.append(f"{problem}: {case.kind} {case.data[:300]!r}")

    def summary(self) -> dict[str, object]:
        classes = collections.Counter(f"{s // 100}xx" for s in self.by_status.elements())
        return {
            "requests": self.sent,
            "by_class": dict(sorted(classes.items())),
            "by_status": dict(sorted(self.by_status.items())),
            "by_kind": dict(sorted(self.by_kind.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "5xx": self.server_errors,
            "dropped": self.outcomes["dropped"],
            "timeouts": self.outcomes["timeout"] - self.unterminated_waits,
            "unterminated_waits": self.unterminated_waits,
            "non_json_errors": self.broken["non-JSON"],
            "broken_exchanges": sum(self.broken.values()),
        }


def judge(case: Case, exchange: RawExchange) -> str | None:
    """The first broken promise in one exchange, or None."""
    if exchange.outcome == "timeout" and case.unterminated and not exchange.responses:
        return None  # still waiting for the end of the headers: not an error either side
    if exchange.outcome in ("dropped", "timeout"):
        return f"{exchange.outcome} ({exchange.detail})"
    for response in exchange.responses:
        if response.status >= 500:
            return f"5xx {response.status} {response.body[:200]!r}"
        if response.status >= 400 and not (
            is_json_error(response)
            if not case.head
            # A HEAD answer has no body: its headers must still announce the JSON error.
            else response.headers.get("content-type", "").startswith("application/json")
            and "x-request-id" in response.headers
        ):
            return f"non-JSON {response.status} {response.body[:200]!r}"
        if response.status == 200 and not case.head and response.body.startswith(b"{"):
            json.loads(response.body)
    return None


async def fuzz(
    host: str,
    port: int,
    key: str,
    count: int,
    seed: int,
    concurrency: int = 32,
    timeout: float = 5.0,
    progress: bool = False,
) -> Tally:
    rng = random.Random(seed)  # noqa: S311 - reproducible test input, not a secret
    cases = [make_case(rng, key) for _ in range(count)]
    tally = Tally()
    queue = iter(cases)

    async def worker() -> None:
        for case in queue:
            exchange = await raw_exchange(host, port, case.data, timeout, head_request=case.head)
            tally.add(case, exchange)
            if progress and tally.sent % 1000 == 0:
                print(f"  {tally.sent} sent", file=sys.stderr)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


# ---------------------------------------------------------------------------------- the CLI
def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _metrics_5xx(base: str) -> int:
    _status, body = _http_get(f"{base}/metrics")
    total = 0
    for line in body.decode().splitlines():
        if line.startswith("model_api_requests_total{") and 'status="5' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    parser.add_argument("--port", type=int, help="fuzz a service already on 127.0.0.1:PORT")
    parser.add_argument("--key", default="fuzz-key", help="an API key it accepts (with --port)")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args()
    if not 1 <= args.count <= 1_000_000 or not 1 <= args.concurrency <= 256:
        parser.error("--count must be 1..1000000 and --concurrency 1..256")

    host = "127.0.0.1"  # loopback only
    proc = None
    log_path = None
    with tempfile.TemporaryDirectory(prefix="model-api-fuzz-") as tmp:
        if args.port:
            port, key = args.port, args.key
        else:
            port, key = free_port(), args.key
            keys = Path(tmp) / "keys.json"
            keys.write_text(json.dumps({"keys": [key]}))
            env = {
                **os.environ,
                "MODEL_API_HOST": host,
                "MODEL_API_PORT": str(port),
                "MODEL_API_API_KEYS_FILE": str(keys),
                "MODEL_API_BODY_TIMEOUT_SECONDS": "1",
                "MODEL_API_DRAIN_SECONDS": "0",
            }
            log_path = Path(tmp) / "model-api.log"
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    [str(Path(sys.executable).parent / "model-api")],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if _http_get(f"http://{host}:{port}/readyz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                proc.kill()
                raise SystemExit("model-api did not become ready")
        base = f"http://{host}:{port}"
        try:
            before = _metrics_5xx(base)
            started = time.monotonic()
            tally = asyncio.run(
                fuzz(host, port, key, args.count, args.seed, args.concurrency, args.timeout, True)
            )
            elapsed = time.monotonic() - started
            ready = _http_get(f"{base}/readyz")[0]
            metrics_5xx = _metrics_5xx(base) - before
        finally:
            if proc:
                proc.terminate()
                proc.wait(15)
        unhandled = 0
        if log_path:
            unhandled = log_path.read_text(errors="replace").count('"unhandled error"')

    summary = {
        "seed": args.seed,
        "seconds": round(elapsed, 1),
        **tally.summary(),
        "ready_after": ready,
        "metrics_5xx": metrics_5xx,
        "unhandled_error_logs": unhandled,
    }
    print(json.dumps(summary, indent=2))
    for problem in tally.problems[:20]:
        print("PROBLEM", problem)
    ok = not tally.broken and ready == 200 and metrics_5xx == 0 and unhandled == 0
    summary["ok"] = ok
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    print("contract: " + ("kept" if ok else "BROKEN"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
