"""The ceiling: a bare aiohttp app that parses the same JSON body and answers the same shape.

Usage: bare_app.py PORT [uvloop|asyncio] [tuned]: the same event loop as the service in the run
(model_api.__main__.loop_factory) and aiohttp's same HTTP parser (same aiohttp install).

Plain (the ceiling the targets are measured against): the idiomatic handler, `await
request.read()`, `json.loads` of the bytes, `json.dumps` of the answer. Tuned: the same three
steps done the way the service does them (docs/service.md, "Where the time goes"): a body that
came with its headers taken with `read_nowait()`, UTF-8 decoded before the JSON parse, the
answer's constant head written once. With it the bench shows how much of the service's lead
comes from those steps and what the service's own features cost on top.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

from model_api.__main__ import http_parser_name, loop_factory

ANSWER = {"model_name": "demo-logreg", "model_version": "1.0.0"}
HEAD = json.dumps({**ANSWER, "predictions": []})[: -len("]}")]
_decode = json.JSONDecoder().decode


async def predict(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    body = {**ANSWER, "predictions": [0.5] * len(data["instances"])}
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


async def predict_tuned(request: web.Request) -> web.Response:
    content = request.content
    if content.is_eof():
        data = _decode(content.read_nowait().decode())
    else:
        data = json.loads(await request.read())
    predictions = ", ".join(map(float.__repr__, [0.5] * len(data["instances"])))
    return web.Response(body=f"{HEAD}{predictions}]}}".encode(), content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def main() -> None:
    tuned = len(sys.argv) > 3 and sys.argv[3] == "tuned"
    app = web.Application()
    app.router.add_post("/v1/predict", predict_tuned if tuned else predict)
    app.router.add_get("/readyz", readyz)
    loop = loop_factory(sys.argv[2] if len(sys.argv) > 2 else "uvloop")()
    print(f"bare: event_loop={type(loop).__module__} http_parser={http_parser_name()}", flush=True)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, loop=loop
    )


if __name__ == "__main__":
    main()
